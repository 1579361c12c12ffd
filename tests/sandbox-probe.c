/*
 * sandbox-probe: a small check program the sandbox tests run inside
 * airlock-sandbox. Each subcommand tries one thing and prints "ok" or
 * "errno N (name)"; the exit status is 0 when it worked, else the errno (or
 * 200 when the probe itself cannot run on this host, e.g. no 32-bit
 * syscall entry). It is built without sanitizers: their runtimes use
 * ptrace and /proc, which the sandbox takes away on purpose.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define PROBE_CANNOT 200 /* this host cannot run the probe at all */

/* Prints and returns the outcome of a call that returned RC (errno when < 0). */
static int probe_result(long rc)
{
	if (rc >= 0) {
		printf("ok\n");
		return 0;
	}
	printf("errno %d (%s)\n", errno, strerror(errno));
	return errno > 0 && errno < PROBE_CANNOT ? errno : 1;
}

#if defined(__x86_64__)
/* A 32-bit syscall through int 0x80 (the x86 ABI, as a 32-bit program would make). */
static long probe_int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}
#endif

/* Family names the tests use. */
static int probe_family(const char *name)
{
	static const struct {
		const char *name;
		int af;
	} fams[] = {{"unix", AF_UNIX},       {"inet", AF_INET},     {"inet6", AF_INET6},
	            {"netlink", AF_NETLINK}, {"packet", AF_PACKET}, {"vsock", 40}};
	for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
		if (strcmp(fams[i].name, name) == 0)
			return fams[i].af;
	return atoi(name);
}

/* Runs one probe. */
/*
 * Runs CMD with the system call NR failing ENOSYS, as on a kernel that lacks
 * it (a seccomp filter, inherited by everything CMD runs): how the tests try
 * the helper's fallbacks for newer calls on this kernel.
 */
static int probe_without_syscall(long nr, char **cmd)
{
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return probe_result(-1);
	execvp(cmd[0], cmd);
	return probe_result(-1);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	int sv[2];

	if (strcmp(what, "without-syscall") == 0 && argc > 4 && strcmp(argv[3], "--") == 0)
		return probe_without_syscall(strtol(argv[2], NULL, 10), argv + 4);
	if (strcmp(what, "socket") == 0 && argc > 2) {
		bool unix_other = strncmp(argv[2], "unix-", 5) == 0;
		int af = unix_other ? AF_UNIX : probe_family(argv[2]);
		int type = af == AF_PACKET             ? SOCK_RAW
		           : af == 40 || af == AF_UNIX ? SOCK_STREAM
		                                       : SOCK_DGRAM;
		if (strcmp(argv[2], "unix-dgram") == 0)
			type = SOCK_DGRAM | SOCK_CLOEXEC;
		else if (strcmp(argv[2], "unix-raw") == 0)
			type = SOCK_RAW; /* the kernel makes it a datagram socket */
		return probe_result(socket(af, type, 0));
	}
	if (strcmp(what, "socketpair") == 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			return probe_result(-1);
		return probe_result(send(sv[0], "x", 1, 0));
	}
	if (strcmp(what, "sendto-addr") == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (fd < 0)
			return probe_result(-1);
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argc > 2 ? argv[2] : "/dev/log");
		return probe_result(sendto(fd, "x", 1, 0, (struct sockaddr *)&sun, sizeof sun));
	}
	if (strcmp(what, "sendmsg-addr") == 0 && argc > 2) {
		/* A datagram with a destination, from a socketpair end and from a fresh socket. */
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		struct iovec iov = {.iov_base = "x", .iov_len = 1};
		struct msghdr mh = {
		    .msg_name = &sun, .msg_namelen = sizeof sun, .msg_iov = &iov, .msg_iovlen = 1};
		static const int types[] = {SOCK_DGRAM, SOCK_RAW};
		int fd = -1;
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[2]);
		for (size_t i = 0; i < 2; i++) {
			if (socketpair(AF_UNIX, types[i], 0, sv) == 0 && sendmsg(sv[0], &mh, 0) >= 0)
				return probe_result(0);
			if ((fd = socket(AF_UNIX, types[i], 0)) >= 0 && sendmsg(fd, &mh, 0) >= 0)
				return probe_result(0);
		}
		return probe_result(-1);
	}
	if (strcmp(what, "keyctl") == 0)
		return probe_result(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */,
		                            -3 /* KEY_SPEC_SESSION_KEYRING */, 0) < 0
		                        ? -1
		                        : 0);
	if (strcmp(what, "add_key") == 0)
		return probe_result(syscall(SYS_add_key, "user", "airlock-probe", "x", 1,
		                            -3 /* KEY_SPEC_SESSION_KEYRING */) < 0
		                        ? -1
		                        : 0);
	if (strcmp(what, "connect-unix") == 0 && argc > 2) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			return probe_result(-1);
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[2]);
		return probe_result(connect(fd, (struct sockaddr *)&sun, sizeof sun));
	}
	if (strcmp(what, "ptrace") == 0)
		return probe_result(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	if (strcmp(what, "io_uring_setup") == 0) {
		char params[120] = {0};
		return probe_result(syscall(425 /* io_uring_setup */, 1, params));
	}
	if (strcmp(what, "process_vm_readv") == 0) {
		char a[4] = "abc", b[4];
		struct iovec l = {b, 3}, r = {a, 3};
		return probe_result(syscall(SYS_process_vm_readv, getppid(), &l, 1, &r, 1, 0));
	}
	if (strcmp(what, "x32-socket") == 0)
		return probe_result(syscall(SYS_socket | 0x40000000, AF_INET, SOCK_DGRAM, 0));
#if defined(__x86_64__)
	if (strcmp(what, "int80-getpid") == 0) {
		long r = probe_int80(20 /* i386 getpid */, 0, 0, 0);
		printf("%ld\n", r);
		return r == getpid() ? 0 : PROBE_CANNOT;
	}
	if (strcmp(what, "int80-socketcall") == 0 || strcmp(what, "int80-socket") == 0) {
		/* socketcall's argument block must sit below 4 GiB for a 32-bit call. */
		uint32_t *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		long r;
		if (args == MAP_FAILED)
			return PROBE_CANNOT;
		args[0] = AF_INET;
		args[1] = SOCK_DGRAM;
		args[2] = 0;
		if (strcmp(what, "int80-socketcall") == 0)
			r = probe_int80(102 /* socketcall */, 1 /* SYS_SOCKET */,
			                (long)(uintptr_t)args, 0);
		else
			r = probe_int80(359 /* i386 socket */, AF_INET, SOCK_DGRAM, 0);
		if (r < 0) {
			errno = (int)-r;
			return probe_result(-1);
		}
		return probe_result(r);
	}
#endif
	if (strcmp(what, "write") == 0 && argc > 2)
		return probe_result(open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	if (strcmp(what, "read") == 0 && argc > 2) {
		char buf[64];
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return probe_result(-1);
		return probe_result(read(fd, buf, sizeof buf));
	}
	if (strcmp(what, "pid1-mem") == 0) /* the sandbox's init, outside the filter */
		return probe_result(open("/proc/1/mem", O_RDWR | O_CLOEXEC));
	if (strcmp(what, "mkdir") == 0 && argc > 2)
		return probe_result(mkdir(argv[2], 0755));
	fprintf(stderr, "usage: sandbox-probe socket FAMILY | socketpair | sendto-addr | "
	                "connect-unix PATH | ptrace | io_uring_setup | process_vm_readv | "
	                "x32-socket | int80-getpid | int80-socketcall | int80-socket | write F | "
	                "read F | pid1-mem | mkdir D\n");
	return PROBE_CANNOT;
}
