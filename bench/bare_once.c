/* The flushes of one 1-file warden run, as one process (a C port of
   `bare-once` in crates/warden-core/benches/scale.rs). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static void append(const char *dir, const char *name, const char *line) {
  char p[4096]; snprintf(p, sizeof p, "%s/%s", dir, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  write(fd, line, strlen(line)); fdatasync(fd); close(fd);
}
int main(int argc, char **argv) {
  const char *dir = argv[1]; char d[4096], tmp[4096], dst[4096];
  snprintf(d, sizeof d, "%s/d", dir); mkdir(d, 0755);
  append(dir, "journal", "intent\n");
  int n = 0; DIR *dd = opendir(d); while (readdir(dd)) n++; closedir(dd);
  snprintf(tmp, sizeof tmp, "%s/.f.tmp", d); snprintf(dst, sizeof dst, "%s/f%d.md", d, n);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  write(fd, "x\n", 2); fsync(fd); close(fd); rename(tmp, dst);
  int df = open(d, O_RDONLY | O_DIRECTORY); fsync(df); close(df);
  append(dir, "ledger", "entry\n");
  return 0;
}
