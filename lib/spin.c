/* gst-zerocopy core library: when a reader should spin before it sleeps
 * (see spin.h for why). */
#include "spin.h"

void
zc_spin_init (zc_spin_t * s)
{
  s->last_frame_ns = 0;
  s->gap_ns = UINT64_MAX;
  s->skip = s->backoff = 0;
}

void
zc_spin_note_frame (zc_spin_t * s, uint64_t now_ns)
{
  uint64_t gap = now_ns - s->last_frame_ns;

  if (s->last_frame_ns == 0 || now_ns < s->last_frame_ns)
    s->gap_ns = UINT64_MAX;
  else if (s->gap_ns == UINT64_MAX)
    s->gap_ns = gap;
  else
    s->gap_ns = s->gap_ns - s->gap_ns / 4 + gap / 4;
  s->last_frame_ns = now_ns;
}

uint64_t
zc_spin_budget (zc_spin_t * s)
{
  if (s->gap_ns >= ZC_SPIN_GAP_NS)
    return 0;
  if (s->skip > 0) {
    s->skip--;
    return 0;
  }
  return s->gap_ns * 2;
}

void
zc_spin_result (zc_spin_t * s, bool caught)
{
  if (caught) {
    s->backoff = 0;
    return;
  }
  s->backoff = s->backoff == 0 ? 1 : s->backoff * 2 > ZC_SPIN_BACKOFF_MAX ?
      ZC_SPIN_BACKOFF_MAX : s->backoff * 2;
  s->skip = s->backoff;
}
