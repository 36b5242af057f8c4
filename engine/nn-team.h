/* nn-team.h — the worker threads the engine's parallel loops run on.
 *
 * A job runs one function on N threads at once (the caller is thread 0),
 * which divide the work between them and may wait for each other at
 * barriers. Idle threads spin only briefly (a few hundred microseconds)
 * before they sleep: on a desktop shared with other programs, a thread
 * that spins for milliseconds while waiting for another that was
 * preempted takes the CPU time its partner needs. OpenMP runtimes spin
 * far longer, and read the setting only from the environment at startup.
 *
 * Only one job runs at a time: a job started while the team is busy (from
 * another thread, or from inside a job) runs on its caller alone, which
 * gives the same results, since every loop in the engine makes its
 * results independent of how many threads share it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NnTeamJob NnTeamJob;

/* What a thread knows of the job it is running. */
typedef struct {
  guint      index;   /* 0 .. size - 1; 0 is the thread that started the job */
  guint      size;
  NnTeamJob *job;
} NnTeamMember;

typedef void (*NnTeamWork) (const NnTeamMember *me, gpointer data);

/* Runs @work on @size threads (at most nn_get_threads ()) and returns when
 * every one has returned. */
void  nn_team_run     (guint size, NnTeamWork work, gpointer data);

/* Inside a job: waits until every thread of it has arrived here. */
void  nn_team_barrier (const NnTeamMember *me);

/* For code written for a team that is called outside any job. */
#define NN_TEAM_SOLO ((const NnTeamMember) { 0, 1, NULL })

/* Runs @range (@data, first, last) over [0, @count) on a job of @size
 * threads (1: all on the caller, in one call), cut into a few equal parts
 * per thread that go to whichever thread asks first. @range must give
 * the same results however [0, @count) is cut. */
typedef void (*NnTeamRange) (gpointer data, gsize first, gsize last);
void  nn_team_for     (gsize count, guint size, NnTeamRange range, gpointer data);

/* [*first, *last): this thread's share of @count items, in equal runs by
 * thread index. */
static inline void
nn_team_split (const NnTeamMember *me, gsize count, gsize *first, gsize *last)
{
  *first = count * me->index / me->size;
  *last = count * (me->index + 1) / me->size;
}

/* A loop whose items go to whichever thread asks first, so a thread that
 * was held up takes fewer: zero it, then every thread calls
 * nn_team_take () until it returns FALSE. Put it where every thread of
 * the job sees the same one (the job's data), and start a new one for
 * each loop. */
typedef struct {
  gint next;      /* items taken from the front */
  gint back;      /* items taken from the back (nn_team_take_from_ends) */
  gint taken;     /* both (nn_team_take_from_ends) */
} NnTeamCounter;

static inline gboolean
nn_team_take (NnTeamCounter *counter, guint count, guint *item)
{
  guint taken = (guint) g_atomic_int_add (&counter->next, 1);

  *item = taken;
  return taken < count;
}

/* Like nn_team_take (), but half the threads take items from the front
 * (0, 1, 2, ...) and half from the back (count - 1, count - 2, ...), the
 * odd one of an odd team from whichever end has given fewer. Two loops
 * over the same items, like a batch's forward and backward passes, then
 * give most items to the same thread both times, so that what one wrote
 * is still in its core's caches for the other: on 2 threads, bench-cnn's
 * forward pass took 2.5% less per image. */
static inline gboolean
nn_team_take_from_ends (NnTeamCounter *counter, guint count, const NnTeamMember *me,
                        guint *item)
{
  gboolean from_back = me->index % 2 == 1;

  if ((guint) g_atomic_int_add (&counter->taken, 1) >= count)
    return FALSE;
  if (me->size % 2 == 1 && me->index == me->size - 1 && me->size > 1)
    from_back = g_atomic_int_get (&counter->back) < g_atomic_int_get (&counter->next);
  if (from_back)
    *item = count - 1 - (guint) g_atomic_int_add (&counter->back, 1);
  else
    *item = (guint) g_atomic_int_add (&counter->next, 1);
  return TRUE;
}

G_END_DECLS
