/* Times a program started two ways, in alternation, without sidebyside: as hyperfine starts it
 * (posix_spawn, the clock read before the spawn), and as sidebyside's launcher does (a child
 * forked ahead waits at a gate, a pipe; woken, it reads the clock and calls execve). Prints
 * the medians of both and the median of the per-pair differences (docs/bench.md, "A gate
 * against a spawn, without sidebyside").
 *
 *   cc -O2 -o /tmp/gate-vs-spawn scripts/gate-vs-spawn.c
 *   /tmp/gate-vs-spawn RUNS MODE WAIT_US PROGRAM [ARGS...]
 *       MODE gate:  the child sleeps at the gate, opened after WAIT_US
 *       MODE spin:  the child spins at the gate (a flag in shared memory) for WAIT_US
 *       MODE vfork: as gate, then the gated child vforks the program (a fresh process)
 *       MODE fork:  no gate: the child reads the clock and calls execve at once
 *   e.g. /tmp/gate-vs-spawn 200 gate 20000 "$(command -v node)" -e 0
 *
 * Output goes to /dev/null on both sides. Linux only. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
static char **program;
static volatile double *start;     /* the moment the gated child passed the gate */
static volatile int *flag;         /* the spin gate */
static volatile pid_t *grandchild; /* the program's process in vfork mode */

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void pause_us(long us) {
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    if (us > 0) nanosleep(&t, NULL);
}

static double spawned(void) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    double began = now_ms();
    pid_t pid;
    if (posix_spawn(&pid, program[0], &actions, NULL, program, environ) != 0) {
        perror("posix_spawn");
        exit(2);
    }
    int status;
    waitpid(pid, &status, 0);
    double ended = now_ms();
    posix_spawn_file_actions_destroy(&actions);
    return ended - began;
}

static double gated(const char *mode, long wait_us) {
    int gate[2];
    if (pipe(gate) != 0) exit(2);
    *flag = 0;
    *grandchild = 0;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        close(gate[1]);
        char byte;
        if (!strcmp(mode, "spin")) {
            while (*flag == 0) {
            }
        } else if (strcmp(mode, "fork") != 0) {
            if (read(gate[0], &byte, 1) != 1) _exit(2);
        }
        *start = now_ms();
        if (!strcmp(mode, "vfork")) {
            pid_t fresh = vfork();
            if (fresh == 0) {
                execv(program[0], program);
                _exit(127);
            }
            *grandchild = fresh;
            _exit(0);
        }
        execv(program[0], program);
        _exit(127);
    }
    close(gate[0]);
    if (strcmp(mode, "fork") != 0) pause_us(wait_us);
    *flag = 1;
    if (write(gate[1], "x", 1) != 1) exit(2);
    close(gate[1]);
    int status;
    waitpid(pid, &status, 0);
    if (*grandchild) waitpid(*grandchild, &status, 0); /* ours: we are its subreaper */
    return now_ms() - *start;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s RUNS gate|spin|vfork|fork WAIT_US PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[1]);
    const char *mode = argv[2];
    long wait_us = atol(argv[3]);
    program = argv + 4;
    if (runs < 2 || (strcmp(mode, "gate") && strcmp(mode, "spin") && strcmp(mode, "vfork") &&
                     strcmp(mode, "fork"))) {
        fprintf(stderr, "RUNS must be 2 or more and MODE one of gate, spin, vfork, fork\n");
        return 2;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    volatile char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return 2;
    start = (volatile double *)shared;
    flag = (volatile int *)(shared + 64);
    grandchild = (volatile pid_t *)(shared + 128);
    double *spawn = malloc(runs * sizeof(double)), *gate = malloc(runs * sizeof(double));
    double *pair = malloc(runs * sizeof(double));
    for (int i = 0; i < 3; i++) { /* warm-up, not counted */
        spawned();
        gated(mode, wait_us);
    }
    for (int i = 0; i < runs; i++) {
        if (i % 2) {
            spawn[i] = spawned();
            gate[i] = gated(mode, wait_us);
        } else {
            gate[i] = gated(mode, wait_us);
            spawn[i] = spawned();
        }
        pair[i] = gate[i] / spawn[i] - 1;
    }
    qsort(spawn, runs, sizeof(double), ascending);
    qsort(gate, runs, sizeof(double), ascending);
    qsort(pair, runs, sizeof(double), ascending);
    printf("spawn median %.3f ms, %s median %.3f ms: %+.2f%%; median of per-pair differences %+.2f%%\n",
           spawn[runs / 2], mode, gate[runs / 2], 100 * (gate[runs / 2] / spawn[runs / 2] - 1),
           100 * pair[runs / 2]);
    return 0;
}
