/* digit-stall-monitor.c — the main loop's longest silence.
 *
 * The tick runs at the default priority, the same as the training reports
 * and above redrawing, so a gap measures the longest single thing the main
 * loop did (a frame, a handler), not a queue of small ones.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "digit-stall-monitor.h"
#include "digit-train-events.h"

#define REPORT_INTERVAL_US G_USEC_PER_SEC

struct _DigitStallMonitor
{
  guint  tick_source;
  gint64 last_tick_us;
  gint64 last_cpu_us;
  gint64 last_report_us;
  double max_ms;            /* since the start */
  double interval_max_ms;   /* since the last report */
  double interval_busy_ms;  /* the main thread's CPU time in that gap */
  double interval_queued_ms; /* and its time ready to run, waiting for a CPU */
  gint64 last_queued_us;
  int    schedstat_fd;      /* the main thread's /proc schedstat, or -1 */
  guint  interval_ticks;
};

/* The main thread's own processor time: in a long gap, how much of it the
 * main loop spent working rather than waiting for the processor or the X
 * server. */
static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* How long the main thread has been ready to run but waiting for a
 * processor that other threads and programs held: the kernel's run-queue
 * delay (the second field of its schedstat, in ns, read again from the
 * start of the file it keeps open). In a long gap, that part is the
 * machine's doing, not the main loop's. 0 where the kernel does not say. */
static gint64
thread_queued_us (DigitStallMonitor *self)
{
  char text[96];
  unsigned long long running_ns, queued_ns;
  ssize_t n;

  if (self->schedstat_fd < 0)
    return 0;
  n = pread (self->schedstat_fd, text, sizeof text - 1, 0);
  if (n <= 0)
    return 0;
  text[n] = '\0';
  if (sscanf (text, "%llu %llu", &running_ns, &queued_ns) != 2)
    return 0;
  return (gint64) (queued_ns / 1000);
}

static gboolean
on_tick (gpointer user_data)
{
  DigitStallMonitor *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 cpu = thread_cpu_us ();
  gint64 queued = thread_queued_us (self);
  double gap_ms = (now - self->last_tick_us) / 1000.0;

  if (gap_ms > self->interval_max_ms)
    {
      self->interval_max_ms = gap_ms;
      self->interval_busy_ms = (cpu - self->last_cpu_us) / 1000.0;
      self->interval_queued_ms = (queued - self->last_queued_us) / 1000.0;
    }
  self->last_tick_us = now;
  self->last_cpu_us = cpu;
  self->last_queued_us = queued;
  self->max_ms = MAX (self->max_ms, gap_ms);
  self->interval_ticks++;
  if (now - self->last_report_us >= REPORT_INTERVAL_US)
    {
      digit_train_events_stall (self->interval_max_ms, self->interval_busy_ms,
                                self->interval_queued_ms, self->interval_ticks);
      self->last_report_us = now;
      self->interval_max_ms = 0.0;
      self->interval_busy_ms = 0.0;
      self->interval_queued_ms = 0.0;
      self->interval_ticks = 0;
    }
  return G_SOURCE_CONTINUE;
}

DigitStallMonitor *
digit_stall_monitor_new (void)
{
  DigitStallMonitor *self = g_new0 (DigitStallMonitor, 1);

  self->schedstat_fd = -1;
  return self;
}

void
digit_stall_monitor_free (DigitStallMonitor *self)
{
  if (self == NULL)
    return;
  digit_stall_monitor_stop (self);
  g_free (self);
}

void
digit_stall_monitor_start (DigitStallMonitor *self)
{
  g_return_if_fail (self != NULL);

  digit_stall_monitor_stop (self);
  self->last_tick_us = self->last_report_us = g_get_monotonic_time ();
  self->last_cpu_us = thread_cpu_us ();
  /* Started on the main thread: "thread-self" is the one to watch. */
  self->schedstat_fd = open ("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  self->last_queued_us = thread_queued_us (self);
  self->max_ms = self->interval_max_ms = self->interval_busy_ms = self->interval_queued_ms = 0.0;
  self->interval_ticks = 0;
  self->tick_source = g_timeout_add_full (G_PRIORITY_DEFAULT, DIGIT_STALL_TICK_MS, on_tick, self, NULL);
  g_source_set_name_by_id (self->tick_source, "[digitlab] stall monitor");
}

void
digit_stall_monitor_stop (DigitStallMonitor *self)
{
  g_return_if_fail (self != NULL);

  if (self->tick_source == 0)
    return;
  g_clear_handle_id (&self->tick_source, g_source_remove);
  if (self->schedstat_fd >= 0)
    close (self->schedstat_fd);
  self->schedstat_fd = -1;
  /* What the last, partial second saw. */
  if (self->interval_ticks > 0)
    digit_train_events_stall (self->interval_max_ms, self->interval_busy_ms,
                              self->interval_queued_ms, self->interval_ticks);
}

gboolean
digit_stall_monitor_is_running (DigitStallMonitor *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->tick_source != 0;
}

double
digit_stall_monitor_get_max_ms (DigitStallMonitor *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  return self->max_ms;
}
