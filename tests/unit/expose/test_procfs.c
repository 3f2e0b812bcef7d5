#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/expo.h"
#include "expose/procfs.h"

/* A real line, with the command name a process may give itself: spaces and ')'. */
static const char stat_text[] =
    "4242 (we ird) (name) R 1 4242 4242 0 -1 4194560 2219 0 0 0 150 75 -3 -4 20 0 3 0 "
    "123456 1341710336 15888 18446744073709551615 94289650458624 94289650482729 "
    "140734606397696 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

Test(procfs, parses_stat_with_spaces_and_parens_in_comm)
{
    struct procfs s = { 0 };

    cr_assert_eq(procfs_parse_stat(stat_text, sizeof(stat_text) - 1, 100, 4096, &s), 0);
    cr_assert_eq(s.have, PROCFS_HAVE_STAT);
    cr_assert_float_eq(s.cpu_seconds, 2.25, 1e-12);
    cr_assert_eq(s.virtual_bytes, 1341710336u);
    cr_assert_eq(s.resident_bytes, 15888u * 4096u);
    cr_assert_eq(s.start_ticks, 123456u);
    cr_assert_eq(s.state, 'R');
}

Test(procfs, rejects_malformed_stat)
{
    struct procfs s = { 0 };
    const char no_paren[] = "4242 name R 1 2 3";
    const char truncated[] = "4242 (x) R 1 4242 4242 0 -1 4194560 2219 0 0 0 150";
    const char not_number[] = "1 (x) R 1 1 1 0 -1 0 0 0 0 0 abc 75 0 0 20 0 3 0 1 2 3\n";

    cr_assert_eq(procfs_parse_stat(no_paren, sizeof(no_paren) - 1, 100, 4096, &s), -EINVAL);
    cr_assert_eq(procfs_parse_stat(truncated, sizeof(truncated) - 1, 100, 4096, &s), -EINVAL);
    cr_assert_eq(procfs_parse_stat(not_number, sizeof(not_number) - 1, 100, 4096, &s), -EINVAL);
    cr_assert_eq(procfs_parse_stat(stat_text, sizeof(stat_text) - 1, 0, 4096, &s), -EINVAL);
    cr_assert_eq(s.have, 0);
}

Test(procfs, finds_btime_in_proc_stat)
{
    const char text[] = "cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\n"
                        "intr 12345 0 1 2 3 4 5 6 7 8 9\nctxt 999\nbtime 1795242377\n"
                        "processes 12\n";
    const char missing[] = "cpu  1 2 3\nctxt 1\nbtimex 5\n";
    uint64_t b = 0;

    cr_assert_eq(procfs_parse_btime(text, sizeof(text) - 1, &b), 0);
    cr_assert_eq(b, 1795242377u);
    cr_assert_eq(procfs_parse_btime(missing, sizeof(missing) - 1, &b), -EINVAL);
}

Test(procfs, parses_soft_limits_and_unlimited)
{
    const char text[] =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n"
        "Max open files            1024                 1048576              files     \n"
        "Max address space         unlimited            unlimited            bytes     \n";
    const char partial[] = "Max open files            20000                20000  files\n";
    struct procfs s = { 0 };

    cr_assert_eq(procfs_parse_limits(text, sizeof(text) - 1, &s), 0);
    cr_assert_eq(s.max_fds, 1024u);
    cr_assert_eq(s.virtual_max_bytes, PROCFS_UNLIMITED);
    cr_assert_eq(s.have, PROCFS_HAVE_MAX_FDS | PROCFS_HAVE_MAX_VMEM);

    memset(&s, 0, sizeof(s));
    cr_assert_eq(procfs_parse_limits(partial, sizeof(partial) - 1, &s), -EINVAL);
    cr_assert_eq(s.have, PROCFS_HAVE_MAX_FDS);
    cr_assert_eq(s.max_fds, 20000u);
}

Test(procfs, finds_the_effective_uid_in_status)
{
    const char text[] = "Name:\tworker\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t77\n"
                        "Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t100\t100\t100\n";
    const char short_line[] = "Uid:\t1000\n";
    const char missing[] = "Name:\tx\nGid:\t1\t1\t1\t1\n";
    uint32_t uid = 0;

    cr_assert_eq(procfs_parse_status_uid(text, sizeof(text) - 1, &uid), 0);
    cr_assert_eq(uid, 1001u);
    cr_assert_eq(procfs_parse_status_uid(short_line, sizeof(short_line) - 1, &uid), -EINVAL);
    cr_assert_eq(procfs_parse_status_uid(missing, sizeof(missing) - 1, &uid), -EINVAL);
}

Test(procfs, finds_ip_octets_by_column_name)
{
    /* TcpExt first, and IpExt's columns in an order a future kernel might use. */
    const char text[] = "TcpExt: SyncookiesSent InOctets\nTcpExt: 1 999\n"
                        "IpExt: InNoRoutes OutOctets InMcastPkts InOctets\n"
                        "IpExt: 0 265446910 7 315916096\n";
    const char no_values[] = "IpExt: InOctets OutOctets\n";
    const char short_values[] = "IpExt: InNoRoutes InOctets OutOctets\nIpExt: 0 5\n";
    const char no_ipext[] = "TcpExt: InOctets OutOctets\nTcpExt: 1 2\n";
    uint64_t rx = 0, tx = 0;

    cr_assert_eq(procfs_parse_netstat(text, sizeof(text) - 1, &rx, &tx), 0);
    cr_assert_eq(rx, 315916096u);
    cr_assert_eq(tx, 265446910u);
    cr_assert_eq(procfs_parse_netstat(no_values, sizeof(no_values) - 1, &rx, &tx), -EINVAL);
    cr_assert_eq(procfs_parse_netstat(short_values, sizeof(short_values) - 1, &rx, &tx), -EINVAL);
    cr_assert_eq(procfs_parse_netstat(no_ipext, sizeof(no_ipext) - 1, &rx, &tx), -EINVAL);
}

Test(procfs, finds_the_cgroup_v2_path)
{
    const char hybrid[] = "9:name=systemd:/\n4:memory:/x/y\n0::/system.slice/app.service\n";
    const char v1_only[] = "4:memory:/x\n1:cpu:/\n";
    const char *path;
    size_t len;

    cr_assert_eq(procfs_parse_cgroup(hybrid, sizeof(hybrid) - 1, &path, &len), 0);
    cr_assert_eq(len, strlen("/system.slice/app.service"));
    cr_assert_eq(memcmp(path, "/system.slice/app.service", len), 0);
    cr_assert_eq(procfs_parse_cgroup(v1_only, sizeof(v1_only) - 1, &path, &len), -ENOENT);
}

Test(procfs, reads_the_real_process)
{
    struct procfs s, again;
    struct rlimit rl;
    int fd;

    cr_assert_eq(procfs_read(&s), 0);
    cr_assert_eq(s.have, PROCFS_HAVE_STAT | PROCFS_HAVE_START | PROCFS_HAVE_OPEN_FDS |
                             PROCFS_HAVE_MAX_FDS | PROCFS_HAVE_MAX_VMEM | PROCFS_HAVE_UID |
                             PROCFS_HAVE_NETNS | PROCFS_HAVE_NET);
    cr_assert_eq(s.euid, geteuid());
    cr_assert_eq(s.state, 'R');
    cr_assert_geq(s.cpu_seconds, 0.0);
    cr_assert_gt(s.resident_bytes, 0u);
    cr_assert_geq(s.virtual_bytes, s.resident_bytes);
    cr_assert_gt(s.start_time_seconds, 1.5e9);
    cr_assert_leq(s.start_time_seconds, (double)time(NULL) + 1);
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(s.max_fds, rl.rlim_cur == RLIM_INFINITY ? PROCFS_UNLIMITED : rl.rlim_cur);

    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(procfs_read(&again), 0);
    cr_assert_eq(again.open_fds, s.open_fds + 1);
    cr_assert_eq(again.start_time_seconds, s.start_time_seconds);
    close(fd);
}

/* By pid, the same figures as /proc/self gives, except the listing's own descriptor. */
Test(procfs, reads_a_pid_like_self)
{
    struct procfs self, bypid;
    uint64_t btime;
    char exe[4096], real[4096];
    struct buf cg = BUF_INIT;
    ssize_t n;

    cr_assert_eq(procfs_btime(&btime), 0);
    cr_assert_eq(procfs_read(&self), 0);
    cr_assert_eq(procfs_read_pid(getpid(), btime, &bypid), 0);
    cr_assert_eq(bypid.have, self.have & ~(unsigned)PROCFS_HAVE_NET);
    cr_assert_eq(bypid.start_ticks, self.start_ticks);
    cr_assert_eq(bypid.start_time_seconds, self.start_time_seconds);
    cr_assert_eq(bypid.open_fds, self.open_fds + 1);
    cr_assert_eq(bypid.netns, self.netns);
    cr_assert_eq(bypid.euid, self.euid);

    n = readlink("/proc/self/exe", real, sizeof(real) - 1);
    cr_assert_gt(n, 0);
    real[n] = '\0';
    cr_assert_eq(procfs_read_exe(getpid(), exe, sizeof(exe)), (int)n);
    cr_assert_str_eq(exe, real);
    cr_assert_eq(procfs_read_exe(getpid(), exe, 4), -ENAMETOOLONG);
    cr_assert_eq(procfs_read_cgroup(getpid(), &cg), 0);
    cr_assert_eq(cg.ptr[0], '/');
    buf_release(&cg);
}

Test(procfs, a_pid_that_is_gone_is_esrch)
{
    struct procfs s;

    /* Above the largest pid_max the kernel allows (2^22). */
    cr_assert_eq(procfs_read_pid(4194305 + 7, 0, &s), -ESRCH);
}

Test(procfs, renders_client_golang_families)
{
    struct procfs s = { 0 };
    struct buf b = BUF_INIT;
    struct expo e;

    s.have = PROCFS_HAVE_STAT | PROCFS_HAVE_START | PROCFS_HAVE_OPEN_FDS | PROCFS_HAVE_MAX_FDS |
             PROCFS_HAVE_MAX_VMEM;
    s.cpu_seconds = 1.04;
    s.open_fds = 15;
    s.max_fds = 1048576;
    s.virtual_bytes = 1341710336;
    s.resident_bytes = 65077248;
    s.virtual_max_bytes = PROCFS_UNLIMITED;
    s.start_time_seconds = 1772807785.38;

    expo_init(&e, &b, EXPO_TEXT);
    procfs_render(&s, &e);
    cr_assert_str_eq(
        b.ptr, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
               "# TYPE process_cpu_seconds_total counter\n"
               "process_cpu_seconds_total 1.04\n"
               "# HELP process_open_fds Number of open file descriptors.\n"
               "# TYPE process_open_fds gauge\n"
               "process_open_fds 15\n"
               "# HELP process_max_fds Maximum number of open file descriptors.\n"
               "# TYPE process_max_fds gauge\n"
               "process_max_fds 1048576\n"
               "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
               "# TYPE process_virtual_memory_bytes gauge\n"
               "process_virtual_memory_bytes 1341710336\n"
               "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
               "# TYPE process_resident_memory_bytes gauge\n"
               "process_resident_memory_bytes 65077248\n"
               "# HELP process_virtual_memory_max_bytes Maximum amount of virtual memory available "
               "in bytes.\n"
               "# TYPE process_virtual_memory_max_bytes gauge\n"
               "process_virtual_memory_max_bytes 1.8446744073709552e+19\n"
               "# HELP process_start_time_seconds Start time of the process since unix epoch in "
               "seconds.\n"
               "# TYPE process_start_time_seconds gauge\n"
               "process_start_time_seconds 1772807785.38\n");

    buf_reset(&b);
    expo_init(&e, &b, EXPO_TEXT);
    s.have = PROCFS_HAVE_NET;
    s.net_rx_bytes = 375467;
    s.net_tx_bytes = 399433;
    procfs_render(&s, &e);
    cr_assert_str_eq(b.ptr,
                     "# HELP process_network_receive_bytes_total Number of bytes received by "
                     "the process over the network.\n"
                     "# TYPE process_network_receive_bytes_total counter\n"
                     "process_network_receive_bytes_total 375467\n"
                     "# HELP process_network_transmit_bytes_total Number of bytes sent by "
                     "the process over the network.\n"
                     "# TYPE process_network_transmit_bytes_total counter\n"
                     "process_network_transmit_bytes_total 399433\n");

    buf_reset(&b);
    expo_init(&e, &b, EXPO_OPENMETRICS);
    s.have = PROCFS_HAVE_STAT;
    procfs_render(&s, &e);
    cr_assert_str_eq(b.ptr, "# TYPE process_cpu_seconds counter\n"
                            "# UNIT process_cpu_seconds seconds\n"
                            "# HELP process_cpu_seconds Total user and system CPU time spent in "
                            "seconds.\n"
                            "process_cpu_seconds_total 1.04\n"
                            "# TYPE process_virtual_memory_bytes gauge\n"
                            "# UNIT process_virtual_memory_bytes bytes\n"
                            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                            "process_virtual_memory_bytes 1341710336\n"
                            "# TYPE process_resident_memory_bytes gauge\n"
                            "# UNIT process_resident_memory_bytes bytes\n"
                            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                            "process_resident_memory_bytes 65077248\n");
    buf_release(&b);
}
