/* replay_main.c — runs a fuzz target over corpus files without libFuzzer,
 * so the corpus (the golden dumps and any crash reproducers kept in
 * test/fuzz/corpus/) is replayed by every build, sanitized or not.
 *
 *   fuzz-segment-replay PATH...   (files, or directories walked recursively)
 *
 * A missing PATH is skipped with a note; no input found at all is exit 77. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned replayed;

static void replay_file(const char *path, off_t size) {
  uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
  FILE *f = fopen(path, "rb");
  if (data == NULL || f == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  LLVMFuzzerTestOneInput(data, (size_t)size);
  free(data);
  replayed++;
}

static void replay_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "skipping %s: not found\n", path);
    return;
  }
  if (S_ISREG(st.st_mode)) {
    replay_file(path, st.st_size);
  } else if (S_ISDIR(st.st_mode)) {
    DIR *dir = opendir(path);
    struct dirent *e;
    while (dir != NULL && (e = readdir(dir)) != NULL) {
      char child[PATH_MAX];
      if (e->d_name[0] == '.')
        continue;
      snprintf(child, sizeof child, "%s/%s", path, e->d_name);
      replay_path(child);
    }
    if (dir != NULL)
      closedir(dir);
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    replay_path(argv[i]);
  fprintf(stderr, "replayed %u inputs\n", replayed);
  return replayed > 0 ? 0 : 77;
}
