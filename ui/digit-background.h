/* digit-background.h — heavy work on threads that step aside for the
 * main loop.
 *
 * Training, evaluating and loading data keep every core busy for seconds
 * or hours. On a machine with few cores, threads of the same priority as
 * the main loop would make it wait its turn, and drawing would stutter.
 * These threads lower their own scheduling priority (on Linux, the nice
 * value of the thread; the OpenMP threads they start inherit it), so the
 * main loop runs the moment it has something to do. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Lowers the calling thread's priority, for good: call it only on a
 * thread of one's own, never on a shared pool's. */
void digit_background_lower_priority (void);

/* Runs @func for @task on a new low-priority thread, like
 * g_task_run_in_thread() but never on GLib's shared pool. */
void digit_background_run_task       (GTask           *task,
                                      GTaskThreadFunc  func);

G_END_DECLS
