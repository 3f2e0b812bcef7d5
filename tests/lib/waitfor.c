#include "waitfor.h"

#include <errno.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <linux/sockios.h>

long long waitfor_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void waitfor_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int waitfor_cond(waitfor_cb cond, void *arg, int timeout_ms)
{
    long long end = waitfor_now_ms() + timeout_ms;
    int pause = 1;

    for (;;) {
        int past = waitfor_now_ms() >= end;
        if (cond(arg))
            return 0;
        if (past)
            return -ETIMEDOUT;
        waitfor_sleep_ms(pause);
        pause = pause * 2 > 20 ? 20 : pause * 2;
    }
}

static int nothing_queued(void *arg)
{
    int queued = -1;

    return ioctl(*(int *)arg, SIOCOUTQ, &queued) == 0 && queued == 0;
}

int waitfor_sent(int fd, int timeout_ms)
{
    return waitfor_cond(nothing_queued, &fd, timeout_ms);
}

struct exited {
    pid_t pid;
    int status; /* exit status or 128 + signal; -1 on a waitpid error */
};

static int has_exited(void *arg)
{
    struct exited *e = arg;
    int st;
    pid_t r = waitpid(e->pid, &st, WNOHANG);

    if (r == e->pid)
        e->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    else if (r < 0 && errno != EINTR)
        e->status = -1;
    else
        return 0;
    return 1;
}

int waitfor_exit(pid_t pid, int timeout_ms)
{
    struct exited e = { pid, -1 };

    return waitfor_cond(has_exited, &e, timeout_ms) == 0 ? e.status : -1;
}
