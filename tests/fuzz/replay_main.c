/* SPDX-License-Identifier: MIT */
/*
 * replay_main.c - run a fuzz target over its stored corpus without libFuzzer.
 *
 * Usage: fuzz_X_replay DIR|FILE...  Every regular file is fed once to
 * LLVMFuzzerTestOneInput; sanitizers (when built with them) catch what the
 * target would.  Fails when no input was found, so an empty corpus cannot
 * pass silently.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned *count)
{
    char *buf;
    size_t len;

    if (kms_file_read(path, 16u << 20, &buf, &len) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    free(buf);
    (*count)++;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int bad = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *d;
        struct dirent *e;

        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "replay: %s: no such corpus\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad |= run_file(argv[i], &count);
            continue;
        }
        d = opendir(argv[i]);
        while (d && (e = readdir(d)) != NULL) {
            char *p;

            if (e->d_name[0] == '.')
                continue;
            p = kms_path_join(argv[i], e->d_name);
            if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode))
                bad |= run_file(p, &count);
            free(p);
        }
        if (d)
            closedir(d);
    }
    printf("replayed %u inputs\n", count);
    return bad || count == 0;
}
