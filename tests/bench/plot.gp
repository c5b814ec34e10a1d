# tests/bench/plot.gp: the two plots of tools/bench, drawn from the data
# files it leaves in its results folder (run by tools/bench; by hand to
# draw them again):
#
#   gnuplot -c tests/bench/plot.gp RESULTS_DIR [TERMINAL]   (pngcairo)
#
# latency-cdf.png  from latency-cdf-{queue,shm,zc}.dat: one-way latency in
#                  us and the fraction of frames at or under it, 1080p I420
#                  paced at 30 fps; a transport whose row failed has no file
#                  and no curve.  Log scale: the tails are the point.
# fanout.png       from fanout.dat: consumers, then for zc and for shm the
#                  producer's CPU per frame (us, whole process) and the
#                  consumers' median latency (us); NaN where a row failed.

if (ARGC < 1) {
  print "usage: gnuplot -c plot.gp RESULTS_DIR [TERMINAL]"
  exit status 2
}
dir = ARG1
term = (ARGC >= 2 && ARG2 ne "") ? ARG2 : "pngcairo"
have_file(f) = system("test -s '" . f . "' && echo y") eq "y"

curves = ""
do for [t in "queue shm zc"] {
  f = dir . "/latency-cdf-" . t . ".dat"
  if (have_file(f)) {
    curves = curves . (curves eq "" ? "" : ", ") . \
        sprintf("'%s' using 1:2 with lines lw 2 title '%s'", f, t)
  }
}
if (curves ne "") {
  eval "set terminal " . term . " size 900,600"
  set output dir . "/latency-cdf.png"
  set title "one-way latency CDF, 1080p I420 paced 30 fps"
  set xlabel "latency (us, log scale)"
  set ylabel "fraction of frames"
  set logscale x
  set grid
  set key bottom right
  set yrange [0:1]
  eval "plot " . curves
  set output
} else {
  print "plot.gp: no latency-cdf-*.dat in " . dir . ": no latency-cdf.png"
}

f = dir . "/fanout.dat"
if (have_file(f)) {
  reset
  eval "set terminal " . term . " size 1100,500"
  set output dir . "/fanout.png"
  set multiplot layout 1,2 title "fan-out, 1080p I420 paced 30 fps"
  set logscale x 2
  set grid
  set xlabel "consumers"
  set key top left
  set yrange [0:*]
  set ylabel "producer CPU per frame (us)"
  plot f using 1:2 with linespoints lw 2 title "zc", \
       f using 1:4 with linespoints lw 2 title "shm"
  set ylabel "consumers' median latency (us)"
  plot f using 1:3 with linespoints lw 2 title "zc", \
       f using 1:5 with linespoints lw 2 title "shm"
  unset multiplot
  set output
} else {
  print "plot.gp: no fanout.dat in " . dir . ": no fanout.png"
}
