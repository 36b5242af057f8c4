/* digit-background.c — low-priority threads for the training page.
 *
 * GLib's GTask pool threads are shared and live on, so lowering their
 * priority would slow every later task that lands on them, and an
 * unprivileged process cannot raise it back. The work here gets a thread
 * of its own instead, which ends with it. */
#include "config.h"

#include <errno.h>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "digit-background.h"

/* Nice 10: a tenth of the main loop's share of a busy core. */
#define BACKGROUND_NICENESS 10

void
digit_background_lower_priority (void)
{
#ifdef __linux__
  /* On Linux the nice value belongs to the thread, and threads created
   * from it later (OpenMP's) inherit it. */
  pid_t thread_id = (pid_t) syscall (SYS_gettid);

  if (setpriority (PRIO_PROCESS, (id_t) thread_id, BACKGROUND_NICENESS) != 0)
    g_debug ("Could not lower a background thread's priority: %s", g_strerror (errno));
#endif
}

typedef struct {
  GTask           *task;
  GTaskThreadFunc  func;
} Job;

static gpointer
run_job (gpointer data)
{
  Job *job = data;

  digit_background_lower_priority ();
  job->func (job->task, g_task_get_source_object (job->task), g_task_get_task_data (job->task),
             g_task_get_cancellable (job->task));
  g_object_unref (job->task);
  g_free (job);
  return NULL;
}

void
digit_background_run_task (GTask           *task,
                           GTaskThreadFunc  func)
{
  Job *job;

  g_return_if_fail (G_IS_TASK (task));
  g_return_if_fail (func != NULL);

  job = g_new0 (Job, 1);
  job->task = g_object_ref (task);
  job->func = func;
  /* Detached: the task reports back through its own main context. */
  g_thread_unref (g_thread_new ("digitlab-background", run_job, job));
}
