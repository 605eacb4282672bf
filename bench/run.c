/*
 * run: the benchmark driver of bench/deliver.sh.  Runs one command per
 * file, with the file on its stdin, JOBS at a time, as an MTA runs a pipe
 * hook, and times each process from fork to exit with CLOCK_MONOTONIC.
 *
 *   run [-j JOBS] [-o OUTPUT] [-t TIMES] LIST COMMAND [ARG...]
 *
 * LIST names one file per line.  The commands' stdout and stderr are
 * appended to OUTPUT (default /dev/null).  When all have run, one line goes
 * to stdout:
 *
 *   n=1000 jobs=2 failed=0 seconds=12.345 rate=81.0 p50=23.10 p99=41.20
 *   max=55.00 cpu=9.80
 *
 * rate is files per second of wall time over the whole run; p50, p99 and
 * max are the milliseconds of one process (nearest rank); cpu is the mean
 * user + system CPU time of one process in milliseconds.  TIMES, when
 * given, gets one line per command: milliseconds, exit status, file.
 * Each command that exits non-zero or dies by a signal is named on stderr.
 *
 * Exits 0 when every command exited 0, 1 when some did not, 64 on a usage
 * error, 71 when a process cannot be started (nothing more is started).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

struct job {
	pid_t pid;
	size_t file;
	struct timespec start;
};

static int read_list(const char *path, char ***files, size_t *n);
static pid_t start(const char *file, int out, char **cmd);
static double ms_since(const struct timespec *t0);
static int cmp_double(const void *a, const void *b);
static double rank(const double *sorted, size_t n, double q);
static void usage(void);

static void
usage(void)
{
	fprintf(stderr, "usage: run [-j JOBS] [-o OUTPUT] [-t TIMES] LIST "
			"COMMAND [ARG...]\n");
	exit(EX_USAGE);
}

/*
 * read_list: the lines of path, without their newlines, in *files.
 * Returns 0, or -1 with a message on stderr.
 */
static int
read_list(const char *path, char ***files, size_t *n)
{
	FILE *fp;
	char *line = NULL, *copy, **v = NULL, **nv;
	size_t cap = 0, count = 0, size = 0, len;
	ssize_t got;
	int rc = -1;

	fp = fopen(path, "r");
	if (fp == NULL) {
		fprintf(stderr, "run: %s: %s\n", path, strerror(errno));
		goto out;
	}
	while ((got = getline(&line, &size, fp)) != -1) {
		/* One name a line; blank lines are skipped. */
		len = (size_t)got;
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		copy = strdup(line);
		if (copy == NULL)
			break;
		v[count++] = copy;
	}
	if (ferror(fp) || !feof(fp))
		fprintf(stderr, "run: %s: %s\n", path, strerror(errno));
	else
		rc = 0;
	fclose(fp);
out:
	free(line);
	*files = v;
	*n = count;
	return rc;
}

/*
 * start: fork and exec cmd with file on stdin and out as stdout and
 * stderr.  Returns the child's pid, or -1 with a message on stderr.
 */
static pid_t
start(const char *file, int out, char **cmd)
{
	pid_t pid;
	int in;

	in = open(file, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		fprintf(stderr, "run: %s: %s\n", file, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		/* The child: the file as stdin, the output file for both
		 * stdout and stderr (dup2 clears close-on-exec). */
		if (dup2(in, STDIN_FILENO) < 0 ||
		    dup2(out, STDOUT_FILENO) < 0 ||
		    dup2(out, STDERR_FILENO) < 0)
			_exit(EX_OSERR);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (pid < 0)
		fprintf(stderr, "run: fork: %s\n", strerror(errno));
	close(in);
	return pid;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* rank: the q-quantile of n sorted values, by nearest rank. */
static double
rank(const double *sorted, size_t n, double q)
{
	size_t r;

	if (n == 0)
		return 0;
	r = (size_t)(q * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return sorted[r - 1];
}

int
main(int argc, char **argv)
{
	const char *output = "/dev/null", *times = NULL;
	struct job *jobs = NULL;
	struct timespec begin;
	char **files = NULL;
	double *ms = NULL, *sorted = NULL, seconds, cpu = 0;
	int *status = NULL;
	size_t nfiles = 0, next = 0, done = 0, failed = 0, running = 0, i, j;
	int njobs = 1, out = -1, stopped = 0, c, rc = EX_OSERR;
	FILE *tf = NULL;

	/* Options and the list of files. */
	while ((c = getopt(argc, argv, "+j:o:t:")) != -1) {
		switch (c) {
		case 'j':
			njobs = atoi(optarg);
			if (njobs < 1 || njobs > 1024)
				usage();
			break;
		case 'o':
			output = optarg;
			break;
		case 't':
			times = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2)
		usage();
	if (read_list(argv[optind], &files, &nfiles) < 0)
		goto out;
	if (nfiles == 0) {
		fprintf(stderr, "run: %s names no file\n", argv[optind]);
		rc = 1;
		goto out;
	}
	jobs = calloc((size_t)njobs, sizeof(*jobs));
	ms = calloc(nfiles, sizeof(*ms));
	sorted = calloc(nfiles, sizeof(*sorted));
	status = calloc(nfiles, sizeof(*status));
	if (jobs == NULL || ms == NULL || sorted == NULL || status == NULL) {
		fprintf(stderr, "run: out of memory\n");
		goto out;
	}
	out = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "run: %s: %s\n", output, strerror(errno));
		goto out;
	}

	/* Keep njobs processes running until every file has had its turn;
	 * a process that cannot be started stops the run. */
	clock_gettime(CLOCK_MONOTONIC, &begin);
	for (;;) {
		struct rusage ru;
		pid_t pid;
		int st;

		while (!stopped && running < (size_t)njobs && next < nfiles) {
			for (j = 0; jobs[j].pid != 0; j++)
				;
			clock_gettime(CLOCK_MONOTONIC, &jobs[j].start);
			pid = start(files[next], out, argv + optind + 1);
			if (pid < 0) {
				stopped = 1;
				break;
			}
			jobs[j].pid = pid;
			jobs[j].file = next++;
			running++;
		}
		if (running == 0)
			break;

		/* One process has ended: its time and status. */
		pid = wait4(-1, &st, 0, &ru);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "run: wait4: %s\n", strerror(errno));
			goto out;
		}
		for (j = 0; j < (size_t)njobs && jobs[j].pid != pid; j++)
			;
		if (j == (size_t)njobs)
			continue;
		i = jobs[j].file;
		ms[i] = ms_since(&jobs[j].start);
		status[i] = st;
		cpu +=
		    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
		jobs[j].pid = 0;
		running--;
		done++;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		failed++;
		if (WIFEXITED(st))
			fprintf(stderr, "run: %s: exit %d\n", files[i],
				WEXITSTATUS(st));
		else
			fprintf(stderr, "run: %s: signal %d\n", files[i],
				WTERMSIG(st));
	}
	seconds = ms_since(&begin) / 1e3;

	/* The time of each process, when asked for. */
	if (times != NULL) {
		tf = fopen(times, "w");
		if (tf == NULL) {
			fprintf(stderr, "run: %s: %s\n", times,
				strerror(errno));
			goto out;
		}
		for (i = 0; i < done; i++)
			fprintf(tf, "%.3f %d %s\n", ms[i],
				WIFEXITED(status[i])
				    ? WEXITSTATUS(status[i])
				    : 128 + WTERMSIG(status[i]),
				files[i]);
		if (fclose(tf) != 0) {
			tf = NULL;
			fprintf(stderr, "run: %s: %s\n", times,
				strerror(errno));
			goto out;
		}
		tf = NULL;
	}

	/* The summary line. */
	memcpy(sorted, ms, done * sizeof(*ms));
	qsort(sorted, done, sizeof(*sorted), cmp_double);
	printf("n=%zu jobs=%d failed=%zu seconds=%.3f rate=%.1f p50=%.2f "
	       "p99=%.2f max=%.2f cpu=%.2f\n",
	       done, njobs, failed, seconds,
	       seconds > 0 ? (double)done / seconds : 0.0,
	       rank(sorted, done, 0.50), rank(sorted, done, 0.99),
	       done > 0 ? sorted[done - 1] : 0.0,
	       done > 0 ? cpu / (double)done : 0.0);
	if (stopped)
		rc = EX_OSERR;
	else
		rc = failed == 0 ? 0 : 1;
out:
	if (tf != NULL)
		fclose(tf);
	if (out >= 0)
		close(out);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(jobs);
	free(ms);
	free(sorted);
	free(status);
	return rc;
}
