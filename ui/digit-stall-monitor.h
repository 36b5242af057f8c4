/* digit-stall-monitor.h — how long the main loop goes without running.
 *
 * While started, a timeout ticks every DIGIT_STALL_TICK_MS and records the
 * longest gap between two ticks: anything that blocks the main loop
 * (drawing a frame, a slow handler) lengthens a gap, so the longest gap is
 * the longest the app was unresponsive. Once a second it is written to the
 * event log as a "stall" event, with the processor time the main thread
 * used in that gap (a gap spent waiting for a busy machine uses little);
 * the GUI tests fail a run whose main loop stalled for more than 50 ms
 * while training.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DIGIT_STALL_TICK_MS 10

typedef struct _DigitStallMonitor DigitStallMonitor;

DigitStallMonitor *digit_stall_monitor_new       (void);
void               digit_stall_monitor_free      (DigitStallMonitor *self);
/* Starts measuring (again); the longest gap is forgotten. */
void               digit_stall_monitor_start     (DigitStallMonitor *self);
void               digit_stall_monitor_stop      (DigitStallMonitor *self);
gboolean           digit_stall_monitor_is_running (DigitStallMonitor *self);
/* The longest gap between ticks since the start, in milliseconds. */
double             digit_stall_monitor_get_max_ms (DigitStallMonitor *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DigitStallMonitor, digit_stall_monitor_free)

G_END_DECLS
