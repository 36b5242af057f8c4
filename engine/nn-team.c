/* nn-team.c — worker threads that spin briefly, then sleep.
 *
 * One process-wide team: workers are started on first need and live as
 * long as the process, blocked when idle. A job is published by storing
 * its description and bumping a generation number; workers notice the new
 * generation while spinning, or are woken. Waiting (for a job, at a
 * barrier, for the job's end) spins for SPIN_US and then sleeps on one
 * condition variable that every state change broadcasts to when anyone
 * sleeps; sleepers check their own condition again when woken.
 */
#include "nn-team.h"

#include "nn.h"

/* How long a waiting thread spins before it sleeps: longer than the gaps
 * between the parallel parts of a training step or of one prediction,
 * and than the wait at the end of a run, up to one image's backward pass
 * (220 us for bench-cnn), where a sleeper puts a wake-up on the critical
 * path (50 us instead of 300 made the step 0.8% slower on 2 threads); far
 * shorter than the few milliseconds a preempted partner can take. */
#define SPIN_US 300

struct _NnTeamJob {
  gint pending;        /* workers that have not finished the job yet */
  gint arrived;        /* threads at the current barrier */
  gint barrier;        /* barriers passed */
};

typedef struct {
  GMutex      lock;        /* for sleeping and waking only */
  GCond       wake;
  gint        sleepers;
  gint        generation;  /* bumped for every job */
  gpointer    work;        /* the current job (an NnTeamWork), read after generation */
  gpointer    data;
  gint        size;
  NnTeamJob  *job;
  guint       n_workers;   /* started so far */
  GMutex      busy;        /* held by the thread that runs a job */
} Team;

static Team team;

static inline void
relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

static void
wake_sleepers (void)
{
  if (g_atomic_int_get (&team.sleepers) > 0)
    {
      g_mutex_lock (&team.lock);
      g_cond_broadcast (&team.wake);
      g_mutex_unlock (&team.lock);
    }
}

/* Returns once *value differs from @old (@until_equal FALSE) or equals it
 * (@until_equal TRUE). The atomic operations are full barriers, so a
 * change made before wake_sleepers() reads the sleeper count is seen by a
 * sleeper that counted itself before checking. */
static void
wait_for (gint *value, gint old, gboolean until_equal)
{
  gint64 deadline = 0;

  for (guint i = 0;; i++)
    {
      if ((g_atomic_int_get (value) == old) == until_equal)
        return;
      if (i % 64 == 63)
        {
          gint64 now = g_get_monotonic_time ();

          if (deadline == 0)
            deadline = now + SPIN_US;
          else if (now > deadline)
            break;
        }
      relax ();
    }

  g_mutex_lock (&team.lock);
  g_atomic_int_inc (&team.sleepers);
  while ((g_atomic_int_get (value) == old) != until_equal)
    g_cond_wait (&team.wake, &team.lock);
  g_atomic_int_add (&team.sleepers, -1);
  g_mutex_unlock (&team.lock);
}

static gpointer
worker_main (gpointer data)
{
  const guint index = GPOINTER_TO_UINT (data);
  gint seen = 0;

  for (;;)
    {
      NnTeamMember me;
      NnTeamWork work;
      gpointer job_data;
      gint generation;

      wait_for (&team.generation, seen, FALSE);
      generation = g_atomic_int_get (&team.generation);
      work = (NnTeamWork) (GCallback) g_atomic_pointer_get (&team.work);
      job_data = g_atomic_pointer_get (&team.data);
      me.size = (guint) g_atomic_int_get (&team.size);
      me.job = g_atomic_pointer_get (&team.job);
      /* A worker with no part in a job may still be reading it when the
       * next one is published: then it reads that one instead. */
      if (g_atomic_int_get (&team.generation) != generation)
        continue;
      seen = generation;
      if (index >= me.size)
        continue;
      me.index = index;
      work (&me, job_data);
      if (g_atomic_int_dec_and_test (&me.job->pending))
        wake_sleepers ();
    }
  return NULL;
}

void
nn_team_run (guint size, NnTeamWork work, gpointer data)
{
  NnTeamJob job = { 0 };
  NnTeamMember me = { 0, 1, &job };

  size = MIN (size, (guint) MAX (nn_get_threads (), 1));
  if (size <= 1 || !g_mutex_trylock (&team.busy))
    {
      work (&me, data);
      return;
    }

  while (team.n_workers < size - 1)
    {
      team.n_workers++;
      g_thread_unref (g_thread_new ("nn-worker", worker_main, GUINT_TO_POINTER (team.n_workers)));
    }

  job.pending = (gint) size - 1;
  g_atomic_pointer_set (&team.work, (gpointer) (GCallback) work);
  g_atomic_pointer_set (&team.data, data);
  g_atomic_int_set (&team.size, (gint) size);
  g_atomic_pointer_set (&team.job, &job);
  g_atomic_int_inc (&team.generation);
  wake_sleepers ();

  me.size = size;
  work (&me, data);
  wait_for (&job.pending, 0, TRUE);
  g_mutex_unlock (&team.busy);
}

void
nn_team_barrier (const NnTeamMember *me)
{
  NnTeamJob *job = me->job;
  gint passed;

  if (me->size <= 1)
    return;
  passed = g_atomic_int_get (&job->barrier);
  if (g_atomic_int_add (&job->arrived, 1) == (gint) me->size - 1)
    {
      g_atomic_int_set (&job->arrived, 0);
      g_atomic_int_inc (&job->barrier);
      wake_sleepers ();
    }
  else
    wait_for (&job->barrier, passed, FALSE);
}

/* Parts of a loop per thread: enough that a thread the host holds up for
 * a while leaves its later parts to the others, few enough that taking
 * one costs nothing next to it. */
#define PARTS_PER_THREAD 4

typedef struct {
  NnTeamRange   range;
  gpointer      data;
  gsize         count;
  guint         parts;
  NnTeamCounter next;
} ForJob;

static void
for_work (const NnTeamMember *me, gpointer data)
{
  ForJob *job = data;
  guint part;

  while (nn_team_take (&job->next, job->parts, &part))
    {
      gsize first = job->count * part / job->parts;
      gsize last = job->count * (part + 1) / job->parts;

      if (first < last)
        job->range (job->data, first, last);
    }
}

void
nn_team_for (gsize count, guint size, NnTeamRange range, gpointer data)
{
  ForJob job = { range, data, count, 1, { 0 } };

  if (count == 0)
    return;
  size = (guint) MIN ((gsize) MIN (size, (guint) MAX (nn_get_threads (), 1)), count);
  if (size <= 1)
    {
      range (data, 0, count);
      return;
    }
  job.parts = (guint) MIN ((gsize) size * PARTS_PER_THREAD, count);
  nn_team_run (size, for_work, &job);
}
