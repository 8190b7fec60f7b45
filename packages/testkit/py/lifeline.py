"""Exec a command that dies with the Node process that started it.

usage: lifeline.py --parent PID [--user NAME] [--netns NAME] -- COMMAND [ARGS...]

The testkit kills every child's process group when it stops a fixture and when Node exits
normally. When Node itself is killed (SIGKILL, a crashed test worker) no JavaScript runs, so
this wrapper asks the kernel to SIGKILL the command when its parent dies
(prctl PR_SET_PDEATHSIG), then replaces itself with the command (same pid, same group).

--user drops root to NAME first. The kernel forgets the parent-death signal whenever a
process changes its user id, so a program that drops privileges itself (opentracker refuses
to run as root and switches to nobody) must be started as that user instead.

--netns moves the process into the named network namespace (`ip netns add NAME`, a file in
/run/netns) before anything else, as `ip netns exec` would, but without the private mount
namespace that `ip netns exec` adds: the program keeps seeing the host's /sys and mounts.
It must run first, while the process is still root.
"""
import ctypes
import os
import pwd
import signal
import sys

PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit(__doc__)
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    parent = int(opts[opts.index("--parent") + 1])
    user = opts[opts.index("--user") + 1] if "--user" in opts else None
    netns = opts[opts.index("--netns") + 1] if "--netns" in opts else None
    if not cmd:
        sys.exit("lifeline: no command")

    libc = ctypes.CDLL(None, use_errno=True)
    if netns is not None:
        try:
            fd = os.open(os.path.join("/run/netns", netns), os.O_RDONLY)
        except OSError as e:
            sys.exit(f"lifeline: no network namespace {netns}: {e}")
        if libc.setns(fd, CLONE_NEWNET) != 0:
            sys.exit(f"lifeline: cannot enter network namespace {netns}: {os.strerror(ctypes.get_errno())}")
        os.close(fd)

    if user is not None and os.geteuid() == 0:
        pw = pwd.getpwnam(user)
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)

    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        sys.exit(f"lifeline: prctl failed: {os.strerror(ctypes.get_errno())}")
    # The parent may have died before prctl took effect; then nobody would kill us later.
    if os.getppid() != parent:
        sys.exit("lifeline: parent already gone")
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        print(f"lifeline: cannot run {cmd[0]}: {e}", file=sys.stderr, flush=True)
        os._exit(127)


if __name__ == "__main__":
    main()
