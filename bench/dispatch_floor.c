/* The floor of one plugin dispatch (issue 11): only the work no dispatch can
 * skip, around the bare handler, in one small process.
 *
 *   dispatch_floor REPO SCRATCH STDIN LEDGER RUNS -- PLUGIN ARGV...
 *
 * 1. the sandbox warden's helper builds: new PID and mount namespaces, every
 *    mount private, a fresh /proc, REPO bound read-only onto itself, every
 *    capability dropped, no_new_privs, Landlock (everything read-only and
 *    executable except SCRATCH; the Signal scope where the kernel has it);
 *    PID 1 of the namespace forks the plugin (cwd REPO's plugin directory is
 *    the caller's cwd), stdin from STDIN, stdout read back through a pipe;
 * 2. the record a dispatch must leave: one ledger line appended to LEDGER
 *    and fdatasync'd, a run directory under RUNS with its run.json.
 *
 * Build: cc -O2 -o dispatch_floor bench/dispatch_floor.c (bench/plugins.sh
 * does it). Not a shipped program: a measuring stick for docs/benchmarks.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

static void die(const char *what) {
    perror(what);
    exit(120);
}

static __u64 fs_rights(int abi) {
    __u64 r = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2) r |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) r |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return r;
}

static void landlock(const char *scratch) {
    int abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) die("landlock abi");
    struct {
        __u64 handled_access_fs, handled_access_net, scoped;
    } attr = {fs_rights(abi), 0, abi >= 6 ? LANDLOCK_SCOPE_SIGNAL : 0};
    size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 16 : 8;
    int rs = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (rs < 0) die("landlock ruleset");
    struct landlock_path_beneath_attr pb;
    pb.allowed_access = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
                        LANDLOCK_ACCESS_FS_READ_DIR;
    pb.parent_fd = open("/", O_PATH | O_CLOEXEC);
    if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0)) die("rule /");
    close(pb.parent_fd);
    pb.allowed_access = fs_rights(abi);
    pb.parent_fd = open(scratch, O_PATH | O_CLOEXEC);
    if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0)) die("rule scratch");
    close(pb.parent_fd);
    if (syscall(SYS_landlock_restrict_self, rs, 0)) die("restrict");
    close(rs);
}

static void drop_privileges(void) {
    for (int c = 0; c <= CAP_LAST_CAP; c++) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{0}};
    if (syscall(SYS_capset, &h, d)) die("capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("no_new_privs");
}

/* PID 1 of the namespace: set up, fork the plugin, drain its stdout, reap. */
static int stage2(char **argv, const char *repo, const char *scratch, const char *in) {
    prctl(PR_SET_PDEATHSIG, 9);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die("private");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) die("proc");
    if (mount(repo, repo, NULL, MS_BIND | MS_REC, NULL)) die("bind");
    if (mount(NULL, repo, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_RELATIME, NULL))
        die("remount");
    drop_privileges();
    landlock(scratch);
    int out[2];
    if (pipe2(out, O_CLOEXEC)) die("pipe");
    pid_t p = fork();
    if (p == 0) {
        int fd = open(in, O_RDONLY);
        dup2(fd, 0);
        dup2(out[1], 1);
        execvp(argv[0], argv);
        _exit(126);
    }
    close(out[1]);
    char buf[65536];
    while (read(out[0], buf, sizeof buf) > 0) {
    }
    int status = 0, code = 0;
    for (;;) {
        pid_t w = wait(&status);
        if (w < 0) break;
        if (w == p) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    }
    return code;
}

static void record(const char *ledger, const char *runs) {
    char line[512];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(line, sizeof line,
                     "{\"seq\":%ld%09ld,\"kind\":\"plugin_run\",\"prev\":\"%064d\"}\n",
                     (long)ts.tv_sec, ts.tv_nsec, 0);
    int fd = open(ledger, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, n) != n || fdatasync(fd)) die("ledger");
    close(fd);
    char dir[4096], file[4200];
    snprintf(dir, sizeof dir, "%s/%ld%09ld-%d", runs, (long)ts.tv_sec, ts.tv_nsec, getpid());
    if (mkdir(dir, 0755)) die("run dir");
    snprintf(file, sizeof file, "%s/run.json", dir);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, n) != n) die("run.json");
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 8 || strcmp(argv[6], "--")) {
        fprintf(stderr, "usage: %s REPO SCRATCH STDIN LEDGER RUNS -- PLUGIN ARGV...\n", argv[0]);
        return 2;
    }
    if (unshare(CLONE_NEWPID | CLONE_NEWNS)) die("unshare");
    pid_t p = fork();
    if (p == 0) _exit(stage2(argv + 7, argv[1], argv[2], argv[3]));
    int status = 0;
    if (waitpid(p, &status, 0) < 0) die("wait");
    record(argv[4], argv[5]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
