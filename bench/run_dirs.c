/* The inodes a 1-file warden run creates beyond the bare flushes: N run
   directories as the engine writes them (`.runs/<RUN>/` with `run.json`,
   2,482 bytes, and `diff.patch`, 103 bytes; not fsynced).
   Usage: run_dirs DIR N MODE   (MODE 2: run.json and diff.patch;
   1: run.json only; 0: nothing). Measure with
   `perf stat -e task-clock ./run_dirs DIR 1000 2` and divide by N. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static void put(const char *path, const char *buf, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd >= 0) { write(fd, buf, len); close(fd); }
}
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  static char buf[2482]; memset(buf, 'x', sizeof buf);
  int n = atoi(argv[2]), mode = atoi(argv[3]); char p[4096];
  for (int i = 0; i < n && mode > 0; i++) {
    snprintf(p, sizeof p, "%s/r%d", argv[1], i); mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/r%d/run.json", argv[1], i); put(p, buf, sizeof buf);
    if (mode == 2) { snprintf(p, sizeof p, "%s/r%d/diff.patch", argv[1], i); put(p, buf, 103); }
  }
  return 0;
}
