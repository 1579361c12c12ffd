/*
 * The seccomp filter of the inner stage (SPEC section 3), built with
 * libseccomp for every x86 ABI the kernel may run: x86_64, x32 and 32-bit
 * x86. Anything else (a foreign ABI) kills the process.
 *
 * The outer stage compiles the filter while bubblewrap sets up the
 * namespaces (sandbox_seccomp_export into a pipe); the inner stage only reads
 * the BPF and loads it (sandbox_seccomp_load_fd), so libseccomp's work stays
 * off the start-up path. The Landlock path builds and loads in one step.
 *
 * The filter allows by default and denies, with EPERM, a list of syscalls
 * that depends on the network policy. On 32-bit x86 the socket calls may
 * also come through the multiplexer socketcall(2), whose arguments sit
 * behind a pointer the filter cannot read: there the calls that would need
 * an argument check (socket, connect, bind, listen, accept, sendto...) are
 * denied outright by their socketcall number, so no path around the filter
 * is left open (libseccomp's own translation of an argument check to
 * socketcall would test registers socketcall does not use). The filter is
 * built per ABI and merged, so each ABI's rules are plain to read in
 * sandbox_seccomp_build's export, which the tests check.
 */
#include "sandbox/sandbox.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <linux/net.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/socket.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define SANDBOX_BPF_MAX        (64 * 1024) /* bytes of BPF the inner stage accepts */
#define SANDBOX_AF_MAX         64  /* families above this are denied wholesale in proxy mode */
#define SANDBOX_SOCK_TYPE_MASK 0xf /* socket()'s type without SOCK_NONBLOCK/SOCK_CLOEXEC */

static const uint32_t sandbox_seccomp_arches[] = {SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_X86};

/* State of one filter being built. */
struct sandbox_seccomp {
	scmp_filter_ctx ctx;
	int rc;
	const char *what; /* the first rule that failed */
};

/* Adds one EPERM rule for syscall NAME with up to one argument comparison. */
static void sandbox_seccomp_deny(struct sandbox_seccomp *s, uint32_t arch, const char *name,
                                 const struct scmp_arg_cmp *cmp)
{
	int nr, rc;

	(void)arch;
	if (s->rc < 0)
		return;
	/* The native (or libseccomp pseudo) number: libseccomp maps it to each ABI of the
	 * filter by name, and splits socket calls into socketcall on x86. */
	nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return;
	rc = cmp != NULL ? seccomp_rule_add(s->ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, *cmp)
	                 : seccomp_rule_add(s->ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	if (rc < 0 && rc != -EEXIST) {
		s->rc = rc;
		s->what = name;
	}
}

/* Denies NAME unconditionally. */
static void sandbox_seccomp_deny_all(struct sandbox_seccomp *s, uint32_t arch, const char *name)
{
	sandbox_seccomp_deny(s, arch, name, NULL);
}

/* Denies socketcall(CALL, ...) on 32-bit x86. */
static void sandbox_seccomp_deny_socketcall(struct sandbox_seccomp *s, uint32_t arch, int call)
{
	struct scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)call);

	if (arch == SCMP_ARCH_X86)
		sandbox_seccomp_deny(s, arch, "socketcall", &cmp);
}

/*
 * Allows AF_UNIX sockets (socket and socketpair) of the connection-oriented
 * types only, SOCK_STREAM and SOCK_SEQPACKET, whatever the SOCK_NONBLOCK /
 * SOCK_CLOEXEC flags: every other type is denied. A datagram socket's
 * sendmsg() may carry a destination address, which the filter cannot read
 * (it sits behind a pointer): with one, a command could send to a host
 * socket it sees in the file system (/dev/log, journald's). The kernel turns
 * an AF_UNIX SOCK_RAW into a datagram socket, so naming SOCK_DGRAM alone
 * would not do. Stream and seqpacket sockets refuse an address on a
 * connected socket, and connect() is denied. On 32-bit x86 libseccomp
 * writes the same rules for the direct calls; socketpair through
 * socketcall (its type behind a pointer) is denied outright.
 */
static void sandbox_seccomp_unix_types_only(struct sandbox_seccomp *s, uint32_t arch)
{
	static const char *const calls[] = {"socket", "socketpair"};
	struct scmp_arg_cmp family = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);

	sandbox_seccomp_deny_socketcall(s, arch, SYS_SOCKETPAIR);
	for (size_t i = 0; i < 2 && s->rc == 0; i++) {
		int nr = seccomp_syscall_resolve_name(calls[i]);
		for (int type = 0; type <= SANDBOX_SOCK_TYPE_MASK && s->rc == 0; type++) {
			struct scmp_arg_cmp t =
			    SCMP_A1(SCMP_CMP_MASKED_EQ, SANDBOX_SOCK_TYPE_MASK, (scmp_datum_t)type);
			int rc = 0;
			if (type == SOCK_STREAM || type == SOCK_SEQPACKET)
				continue;
			if (nr != __NR_SCMP_ERROR)
				rc = seccomp_rule_add(s->ctx, SCMP_ACT_ERRNO(EPERM), nr, 2, family, t);
			if (rc < 0 && rc != -EEXIST) {
				s->rc = rc;
				s->what = calls[i];
			}
		}
	}
}

/* The rules for one ARCH under network policy NET. */
static void sandbox_seccomp_rules(struct sandbox_seccomp *s, uint32_t arch, enum policy_net net,
                                  bool fs_restricted)
{
	static const char *const always[] = {"ptrace", "process_vm_readv", "process_vm_writev"};
	static const char *const uring[] = {"io_uring_setup", "io_uring_enter",
	                                    "io_uring_register"};
	/* The host's session keyring is shared across namespaces: never reachable. */
	static const char *const keys[] = {"keyctl", "add_key", "request_key"};
	static const char *const net_calls[] = {"connect", "bind",     "listen",  "accept",
	                                        "accept4", "sendmmsg", "recvmmsg"};
	static const int net_socketcalls[] = {SYS_SOCKET,   SYS_CONNECT, SYS_BIND,   SYS_LISTEN,
	                                      SYS_ACCEPT,   SYS_ACCEPT4, SYS_SENDTO, SYS_SENDMMSG,
	                                      SYS_RECVMMSG, SYS_RECVFROM};
	struct scmp_arg_cmp cmp;

	for (size_t i = 0; i < 3; i++)
		sandbox_seccomp_deny_all(s, arch, uring[i]);
	for (size_t i = 0; i < 3; i++)
		sandbox_seccomp_deny_all(s, arch, keys[i]);
	if (net == POLICY_NET_ENABLED) {
		if (!fs_restricted)
			return;
		cmp = SCMP_A0(SCMP_CMP_EQ, AF_VSOCK);
		sandbox_seccomp_deny(s, arch, "socket", &cmp);
		/* socketcall's family is behind a pointer: deny socket() through it. */
		sandbox_seccomp_deny_socketcall(s, arch, SYS_SOCKET);
		return;
	}
	for (size_t i = 0; i < 3; i++)
		sandbox_seccomp_deny_all(s, arch, always[i]);
	if (net == POLICY_NET_PROXY) {
		/* Only AF_INET and AF_INET6 sockets; socketpair (AF_UNIX) stays. */
		for (int af = 0; af <= SANDBOX_AF_MAX; af++) {
			if (af == AF_INET || af == AF_INET6)
				continue;
			cmp = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)af);
			sandbox_seccomp_deny(s, arch, "socket", &cmp);
		}
		cmp = SCMP_A0(SCMP_CMP_GT, SANDBOX_AF_MAX);
		sandbox_seccomp_deny(s, arch, "socket", &cmp);
		sandbox_seccomp_deny_socketcall(s, arch, SYS_SOCKET);
		sandbox_seccomp_unix_types_only(s, arch);
		return;
	}
	/* restricted */
	cmp = SCMP_A0(SCMP_CMP_NE, AF_UNIX);
	sandbox_seccomp_deny(s, arch, "socket", &cmp);
	sandbox_seccomp_deny(s, arch, "socketpair", &cmp);
	sandbox_seccomp_unix_types_only(s, arch);
	for (size_t i = 0; i < sizeof net_calls / sizeof net_calls[0]; i++)
		sandbox_seccomp_deny_all(s, arch, net_calls[i]);
	cmp = SCMP_A4(SCMP_CMP_NE, 0);
	sandbox_seccomp_deny(s, arch, "sendto", &cmp);
	/* recvfrom is harmless but socketcall cannot tell; sendto/socket need their args. */
	for (size_t i = 0; i < sizeof net_socketcalls / sizeof net_socketcalls[0]; i++)
		if (net_socketcalls[i] != SYS_RECVFROM)
			sandbox_seccomp_deny_socketcall(s, arch, net_socketcalls[i]);
}

/* Builds one filter per ABI and merges them into one context. */
int sandbox_seccomp_build(enum policy_net net, bool fs_restricted, void **out, char **cause)
{
	scmp_filter_ctx all = NULL;
	int rc = 0;

	/* One filter per ABI, merged into one. */
	for (size_t i = 0; i < sizeof sandbox_seccomp_arches / sizeof sandbox_seccomp_arches[0];
	     i++) {
		uint32_t arch = sandbox_seccomp_arches[i];
		struct sandbox_seccomp s = {.ctx = seccomp_init(SCMP_ACT_ALLOW)};
		if (s.ctx == NULL) {
			rc = -ENOMEM;
			break;
		}
		if (arch != seccomp_arch_native() &&
		    ((rc = seccomp_arch_add(s.ctx, arch)) < 0 ||
		     (rc = seccomp_arch_remove(s.ctx, SCMP_ARCH_NATIVE)) < 0)) {
			seccomp_release(s.ctx);
			*cause = xasprintf("seccomp: cannot add ABI %#x: %s", arch, strerror(-rc));
			break;
		}
		if ((rc = seccomp_attr_set(s.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) <
		    0) {
			seccomp_release(s.ctx);
			*cause = xasprintf("seccomp: bad-ABI action: %s", strerror(-rc));
			break;
		}
		/* A binary tree of syscall numbers: fewer BPF steps on every syscall. */
		seccomp_attr_set(s.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
		sandbox_seccomp_rules(&s, arch, net, fs_restricted);
		if (s.rc < 0) {
			rc = s.rc;
			*cause = xasprintf("seccomp rule for %s: %s", s.what, strerror(-rc));
			seccomp_release(s.ctx);
			break;
		}
		if (all == NULL) {
			all = s.ctx;
		} else if ((rc = seccomp_merge(all, s.ctx)) < 0) {
			*cause = xasprintf("seccomp_merge: %s", strerror(-rc));
			seccomp_release(s.ctx);
			break;
		}
	}
	if (rc < 0) {
		if (all != NULL)
			seccomp_release(all);
		return rc;
	}
	*out = all;
	return 0;
}

/* Builds and loads the filter in this process, after NO_NEW_PRIVS. */
int sandbox_seccomp_apply(enum policy_net net, bool fs_restricted, char **cause)
{
	void *ctx;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		rc = -errno;
		*cause = xasprintf("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return rc;
	}
	if ((rc = sandbox_seccomp_build(net, fs_restricted, &ctx, cause)) < 0)
		return rc;
	if ((rc = seccomp_load(ctx)) < 0)
		*cause = xasprintf("seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc;
}

/* Builds the filter and writes its BPF program to a descriptor. */
int sandbox_seccomp_export(enum policy_net net, bool fs_restricted, int fd, char **cause)
{
	void *ctx;
	int rc;

	if ((rc = sandbox_seccomp_build(net, fs_restricted, &ctx, cause)) < 0)
		return rc;
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0)
		*cause = xasprintf("seccomp_export_bpf: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc;
}

/* Loads a BPF program written by sandbox_seccomp_export. */
int sandbox_seccomp_load_fd(int fd, char **cause)
{
	struct sock_filter *insns = xmalloc(SANDBOX_BPF_MAX);
	struct sock_fprog prog;
	size_t len = 0;
	ssize_t n;
	int rc = 0;

	while (len < SANDBOX_BPF_MAX &&
	       ((n = read(fd, (char *)insns + len, SANDBOX_BPF_MAX - len)) > 0 ||
	        (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	if (len == 0 || len == SANDBOX_BPF_MAX || len % sizeof *insns != 0) {
		*cause =
		    xasprintf("no usable seccomp filter from the outer stage (%zu bytes)", len);
		free(insns);
		return -EINVAL;
	}
	prog.len = (unsigned short)(len / sizeof *insns);
	prog.filter = insns;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		rc = -errno;
		*cause = xasprintf("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	} else if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		rc = -errno;
		*cause = xasprintf("seccomp(SECCOMP_SET_MODE_FILTER): %s", strerror(errno));
	}
	free(insns);
	return rc;
}
