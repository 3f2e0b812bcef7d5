/*
 * waitfor: poll a condition until it holds or a deadline passes, for tests that must
 * wait on something another process does. Wait for the event itself (a counter reaching
 * a value, a series disappearing, a socket drained), never for a fixed time: a fixed
 * sleep is too short on a loaded machine and too long everywhere else.
 *
 *     static int drained(void *arg) { ... return 1 when done ... }
 *     cr_assert_eq(waitfor_cond(drained, &state, 5000), 0, "not drained within 5 s");
 *
 * Blocking; the condition runs on the caller's thread.
 */
#ifndef USTATSD_TESTS_WAITFOR_H
#define USTATSD_TESTS_WAITFOR_H

#include <sys/types.h>

/* A condition: nonzero when it holds. arg is the one given to waitfor_cond(). */
typedef int (*waitfor_cb)(void *arg);

/*
 * Call cond(arg) until it returns nonzero or timeout_ms passes, sleeping between calls
 * (1 ms at first, doubling up to 20 ms, so a quick event is seen quickly and a slow one
 * costs few calls). cond runs at least once, and once more at the deadline. Returns 0
 * when cond held, -ETIMEDOUT when it never did.
 */
int waitfor_cond(waitfor_cb cond, void *arg, int timeout_ms);

/*
 * Wait until the receiver has read every datagram sent on the AF_UNIX datagram socket
 * fd: until then each is charged to fd's send buffer (SIOCOUTQ). A daemon or sink that
 * has read a datagram has handled it in the same loop turn, so this orders sends
 * without asking the receiver. Returns 0, or -ETIMEDOUT.
 */
int waitfor_sent(int fd, int timeout_ms);

/*
 * Wait until the child pid exits, at most timeout_ms, and reap it. Returns its exit
 * status, 128 + the signal that killed it, or -1 when it is still running (or waitpid
 * failed): the caller then kills and reaps it.
 */
int waitfor_exit(pid_t pid, int timeout_ms);

/* CLOCK_MONOTONIC in milliseconds. */
long long waitfor_now_ms(void);

/* Sleep ms milliseconds, resuming after a signal. */
void waitfor_sleep_ms(int ms);

#endif
