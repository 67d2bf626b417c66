//! Starting the snippet with nothing of the start-up inside the measured window: the launcher
//! forks the snippet's process *before* the clock starts, the child sets itself up (standard
//! streams, working directory, process group, signals, confinement) and then waits at a gate
//! (a blocking read on a pipe). Once the child has said it is ready, the launcher opens the
//! gate; the child, woken, tells the launcher the time on its status pipe (the clock's start)
//! and its next system call is `execve`. The clock stops when the launcher's `wait4`
//! returns.
//!
//! Why not `vfork` (or `posix_spawn`, which is `clone(CLONE_VM|CLONE_VFORK)`), which is what
//! makes hyperfine's spawn cheap: a `vfork`ed child has its parent's address space until it
//! executes, and Linux carries the high-water resident size of the address space a process
//! leaves at `execve` into its `ru_maxrss`, so every peak-memory figure would start at the
//! launcher's whole resident size (about 5 MiB) rather than at the copy a `fork` makes of its
//! private pages (about 1 MiB, what `/bin/true` uses anyway). With the gate, the fork, its
//! copy-on-write faults, the child's set-up and its wake-up at the gate all happen before the
//! clock starts, and the window holds what hyperfine's holds past its spawn: `execve`, the
//! program, its exit and `wait4`'s return.
//!
//! Everything the child touches is built before the fork, and the child makes only
//! async-signal-safe system calls and never allocates, as a child of a multi-threaded process
//! must (the launcher forks it before starting its own threads; the rule still holds).
//!
//! The copy of the launcher the child leaves at `execve` is torn down inside the window:
//! unmapping its heap, libraries and page tables cost about 0.1 ms, a fixed cost hyperfine's
//! child does not have. So before it says it is ready, the child unmaps everything but its
//! code, its stack and the mapping that holds the program's arguments ([`through_the_gate`]),
//! and from there on makes raw system calls only. What it unmapped still counts in its peak
//! memory (the kernel records the high-water mark before unmapping), as the pages a `fork`
//! copies count in GNU time's figures.

use super::{confine, page_size};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The stage a child reached when it reported; `READY` means it waits at the gate.
const READY: u32 = 0;
const STAGE_STDIO: u32 = 1;
const STAGE_CWD: u32 = 2;
const STAGE_GROUP: u32 = 3;
const STAGE_CONFINE: u32 = 4;
const STAGE_EXEC: u32 = 5;
/// Not a failure: the child passed the gate, at the moment the message carries.
const PASSED: u32 = 6;
/// Every message on the status pipe: stage, errno, a moment on the monotonic clock, and (for
/// `PASSED`) the user and system CPU the child had used by then, in microseconds.
const MESSAGE: usize = 32;

fn stage_name(stage: u32) -> &'static str {
    match stage {
        STAGE_STDIO => "cannot connect its standard streams",
        STAGE_CWD => "cannot enter its working directory",
        STAGE_GROUP => "cannot make its process group",
        STAGE_CONFINE => "cannot confine it",
        _ => "cannot execute it",
    }
}

/// The program, arguments and environment as the child's `execve` needs them, in a mapping of
/// their own (see [`Arena`]): the child keeps that mapping and sheds the rest of the launcher's
/// memory before the gate.
pub struct Program {
    arena: Arena,
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: CString,
}

impl Program {
    /// Resolves `program` (a bare name is looked up in the `PATH` of `env`, as a shell would)
    /// and builds the arrays `execve` takes.
    pub fn new(
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        cwd: &Path,
    ) -> Result<Program, String> {
        let resolved = resolve(program, env).ok_or_else(|| {
            format!(
                "cannot start {}: no such program in the run's PATH",
                program.display()
            )
        })?;
        let text = |value: &[u8], what: &str| {
            CString::new(value).map_err(|_| format!("{what} holds a NUL byte: {value:?}"))
        };
        let path = text(resolved.as_os_str().as_bytes(), "the program's path")?;
        let mut argv = vec![text(program.as_os_str().as_bytes(), "the program's name")?];
        for arg in args {
            argv.push(text(arg.as_bytes(), "an argument")?);
        }
        let mut envp = Vec::with_capacity(env.len());
        for (key, value) in env {
            envp.push(text(
                format!("{key}={value}").as_bytes(),
                "an environment variable",
            )?);
        }
        let cwd = text(cwd.as_os_str().as_bytes(), "the working directory")?;
        let pointers = (argv.len() + 1 + envp.len() + 1) * std::mem::size_of::<usize>();
        let bytes: usize = std::iter::once(&path)
            .chain(&argv)
            .chain(&envp)
            .map(|string| string.as_bytes_with_nul().len())
            .sum();
        let arena = Arena::new(pointers + bytes)
            .map_err(|error| format!("cannot map the program's arguments: {error}"))?;
        // The pointer arrays first (aligned: the mapping starts on a page), then the strings.
        let base = arena.start as *mut u8;
        let mut table = base.cast::<*const libc::c_char>();
        // SAFETY: the arena holds `pointers + bytes` bytes, exactly what is written below.
        unsafe {
            let mut next = base.add(pointers);
            let mut put = |string: &CString| {
                let bytes = string.as_bytes_with_nul();
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), next, bytes.len());
                let at = next.cast_const().cast::<libc::c_char>();
                next = next.add(bytes.len());
                at
            };
            let path = put(&path);
            let argv_at = table.cast_const();
            for arg in &argv {
                table.write(put(arg));
                table = table.add(1);
            }
            table.write(std::ptr::null());
            table = table.add(1);
            let envp_at = table.cast_const();
            for var in &envp {
                table.write(put(var));
                table = table.add(1);
            }
            table.write(std::ptr::null());
            Ok(Program {
                arena,
                path,
                argv: argv_at,
                envp: envp_at,
                cwd,
            })
        }
    }
}

/// An anonymous private mapping of its own, unmapped on drop.
struct Arena {
    start: usize,
    len: usize,
}

impl Arena {
    fn new(len: usize) -> std::io::Result<Arena> {
        let len = len.max(1);
        // SAFETY: a fresh anonymous mapping, owned by the Arena.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Arena {
            start: start as usize,
            len,
        })
    }

    /// The pages it spans.
    fn pages(&self) -> (usize, usize) {
        (self.start, page_up(self.start + self.len))
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: our own mapping; nothing points into it once the Program is gone.
        unsafe { libc::munmap(self.start as *mut libc::c_void, self.len) };
    }
}

fn page_up(address: usize) -> usize {
    address.next_multiple_of(page_size())
}

fn page_down(address: usize) -> usize {
    address - address % page_size()
}

/// A path with a slash is taken as it is (relative to the working directory, like `execve`);
/// a bare name is searched in the run's `PATH`, else the launcher's.
fn resolve(program: &Path, env: &[(String, String)]) -> Option<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Some(program.to_path_buf());
    }
    let path = env
        .iter()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.clone())
        .or_else(|| std::env::var("PATH").ok())?;
    std::env::split_paths(&path)
        .map(|folder| folder.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// The CPU time the snippet's process used before its `execve`, in microseconds: the fork's
/// copy-on-write faults and the set-up of its confinement, which the launcher did in it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SetupCpu {
    pub user_us: u64,
    pub system_us: u64,
}

/// What the child needs from the gate on, all on the launcher's stack or in the [`Arena`].
struct Crossing {
    go: RawFd,
    status: RawFd,
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// The address ranges the child unmaps before the gate (start, length; empty ones are
    /// skipped): everything but the launcher's code, its stack, its thread's `rseq` area and
    /// the arena.
    shed: [(usize, usize); 4],
}

/// The gaps between what the child keeps: the executable segment holding [`through_the_gate`]
/// (file-backed, so it costs the child's `execve` only the few pages the child touched), the
/// stack from 64 KiB below the current frame up, the page the kernel writes the thread's
/// restartable-sequence area in on every return to user space (`rseq`, which the C library
/// registers in the thread's control block: unmapped, the kernel kills the process with
/// `SIGSEGV`), and the arena. Nothing is shed where the code segment is not known, nor on
/// architectures without [`raw`] system calls.
fn shed_ranges(arena: &Arena) -> [(usize, usize); 4] {
    let mut shed = [(0, 0); 4];
    let Some(code) = code_segment() else {
        return shed;
    };
    let here = 0u8;
    let stack = (
        page_down((&raw const here) as usize).saturating_sub(64 * 1024),
        usize::MAX,
    );
    let rseq = rseq_area();
    let mut keep = [code, arena.pages(), rseq, stack];
    keep.sort_unstable();
    let mut from = page_size();
    for ((start, end), gap) in keep.into_iter().zip(&mut shed) {
        if from < start {
            *gap = (from, start - from);
        }
        from = from.max(end);
    }
    shed
}

/// The pages holding this thread's `rseq` area: at the C library's `__rseq_offset` from the
/// thread pointer where it says (glibc 2.35 and later), else the two pages from the thread
/// pointer on, where the thread's control block and its area lie.
fn rseq_area() -> (usize, usize) {
    static OFFSET: std::sync::OnceLock<Option<isize>> = std::sync::OnceLock::new();
    let offset = *OFFSET.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; the symbol, where present, is a
        // `ptrdiff_t` the C library never changes after start-up.
        unsafe {
            let symbol = libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr());
            (!symbol.is_null()).then(|| *symbol.cast::<isize>())
        }
    });
    let thread = raw::thread_pointer();
    match offset {
        Some(offset) => {
            let area = thread.wrapping_add_signed(offset);
            (page_down(area), page_up(area + 32))
        }
        None => (page_down(thread), page_down(thread) + 2 * page_size()),
    }
}

/// What every child would otherwise look up alike: the code segment and the `rseq` offset.
pub fn warm_up() {
    let _ = code_segment();
    let _ = rseq_area();
}

/// The pages of the executable segment of sidebyside's own binary that holds
/// [`through_the_gate`], found once from the loaded program headers (`dl_iterate_phdr`).
fn code_segment() -> Option<(usize, usize)> {
    static SEGMENT: std::sync::OnceLock<Option<(usize, usize)>> = std::sync::OnceLock::new();
    *SEGMENT.get_or_init(|| {
        if !raw::AVAILABLE {
            return None;
        }
        unsafe extern "C" fn visit(
            info: *mut libc::dl_phdr_info,
            _size: libc::size_t,
            found: *mut libc::c_void,
        ) -> libc::c_int {
            // SAFETY: the loader hands valid program headers; `found` is ours below.
            unsafe {
                let info = &*info;
                let found = &mut *found.cast::<Option<(usize, usize)>>();
                let target = through_the_gate as *const () as usize;
                for index in 0..info.dlpi_phnum as usize {
                    let header = &*info.dlpi_phdr.add(index);
                    if header.p_type != libc::PT_LOAD || header.p_flags & libc::PF_X == 0 {
                        continue;
                    }
                    let start = info.dlpi_addr as usize + header.p_vaddr as usize;
                    let end = start + header.p_memsz as usize;
                    if (start..end).contains(&target) {
                        *found = Some((page_down(start), page_up(end)));
                        return 1;
                    }
                }
            }
            0
        }
        let mut found: Option<(usize, usize)> = None;
        // SAFETY: `visit` only reads the headers and writes `found`, which outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(visit), (&raw mut found).cast()) };
        found
    })
}

/// The child from the end of its set-up to its `execve`. It first unmaps all of the launcher's
/// memory it does not need ([`Crossing::shed`]), so that its `execve`, inside the measured
/// window, tears down a few pages rather than the copy of the launcher's address space (its
/// heap, libraries and their page tables: about 0.1 ms, which hyperfine's `vfork`ed child does
/// not pay). From there on it runs only this function's code and raw system calls ([`raw`]): no
/// C library, no thread-local `errno`, no data outside its stack and the arena.
#[inline(never)]
unsafe fn through_the_gate(crossing: &Crossing) -> ! {
    // No function calls from here on but inlined ones (an unoptimised build calls what it does
    // not inline through the global offset table, which is shed): no iterators, no closures,
    // no arithmetic that can panic. The tests run this in both builds.
    macro_rules! tell {
        ($stage:expr, $errno:expr, $moment:expr, $user:expr, $system:expr) => {{
            let message = Message {
                stage: $stage,
                errno: $errno,
                moment: $moment,
                user_us: $user,
                system_us: $system,
            };
            raw::call3(
                libc::SYS_write,
                crossing.status as usize,
                (&raw const message) as usize,
                MESSAGE,
            );
        }};
    }
    // SAFETY (whole body): raw system calls on the stack and the arena, which stay mapped.
    unsafe {
        let mut index = 0;
        while index < crossing.shed.len() {
            let (start, len) = crossing.shed[index];
            if len > 0 {
                raw::call3(libc::SYS_munmap, start, len, 0);
            }
            index += 1;
        }
        tell!(READY, 0, 0, 0, 0);
        let mut byte = 0u8;
        loop {
            let read = raw::call3(
                libc::SYS_read,
                crossing.go as usize,
                (&raw mut byte) as usize,
                1,
            );
            if read == 1 {
                break;
            }
            if read == -(libc::EINTR as isize) {
                continue;
            }
            // The launcher gave up on the run.
            raw::exit(127);
        }
        // The start of the measured window, told on the status pipe: waking a process
        // blocked at the gate takes the scheduler from a few microseconds to a few
        // hundred (another core may have to be woken from idle, on a virtual machine
        // an exit to the hypervisor), and hyperfine's `vfork`ed child has no such
        // wake-up, so the clock starts after it. (Not a page shared with the launcher:
        // the child's first write to one added about 190 KiB to its peak memory.)
        // With it, the CPU the child used so far (the fork's copy-on-write faults,
        // the confinement's set-up, the unmapping): the launcher's work, not the
        // program's, and taken out of the program's CPU time, as hyperfine's spawn has none.
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
        let usage = (&raw mut usage).cast::<libc::rusage>();
        let (mut user_us, mut system_us) = (0u64, 0u64);
        if raw::call3(
            libc::SYS_getrusage,
            libc::RUSAGE_SELF as usize,
            usage as usize,
            0,
        ) == 0
        {
            let (user, system) = ((*usage).ru_utime, (*usage).ru_stime);
            user_us = (user.tv_sec as u64)
                .wrapping_mul(1_000_000)
                .wrapping_add(user.tv_usec as u64);
            system_us = (system.tv_sec as u64)
                .wrapping_mul(1_000_000)
                .wrapping_add(system.tv_usec as u64);
        }
        let mut now = std::mem::MaybeUninit::<libc::timespec>::uninit();
        let now = (&raw mut now).cast::<libc::timespec>();
        let mut moment = 0u64;
        if raw::call3(
            libc::SYS_clock_gettime,
            libc::CLOCK_MONOTONIC as usize,
            now as usize,
            0,
        ) == 0
        {
            moment = ((*now).tv_sec as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add((*now).tv_nsec as u64);
        }
        tell!(PASSED, 0, moment, user_us, system_us);
        let error = raw::call3(
            libc::SYS_execve,
            crossing.path as usize,
            crossing.argv as usize,
            crossing.envp as usize,
        );
        tell!(STAGE_EXEC, error.wrapping_neg() as i32, 0, 0, 0);
        raw::exit(127)
    }
}

/// System calls without the C library, for the child once it has shed the launcher's memory.
#[cfg(target_arch = "x86_64")]
mod raw {
    use std::arch::asm;

    pub const AVAILABLE: bool = true;

    /// Returns the kernel's answer: the result, or minus the error number.
    #[inline(always)]
    pub unsafe fn call3(number: libc::c_long, a: usize, b: usize, c: usize) -> isize {
        let result: isize;
        // SAFETY: the caller's; `syscall` clobbers rcx and r11 and nothing else here.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") number as isize => result,
                in("rdi") a,
                in("rsi") b,
                in("rdx") c,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        result
    }

    /// The thread pointer (the `fs` base, whose first word the C library points at itself).
    pub fn thread_pointer() -> usize {
        let pointer: usize;
        // SAFETY: reads the thread control block's self-pointer, set up at thread start.
        unsafe { asm!("mov {}, qword ptr fs:0", out(reg) pointer, options(nostack, readonly)) };
        pointer
    }

    #[inline(always)]
    pub unsafe fn exit(code: i32) -> ! {
        loop {
            unsafe { call3(libc::SYS_exit_group, code as usize, 0, 0) };
        }
    }
}

/// Elsewhere the child keeps the launcher's memory and goes through the C library.
#[cfg(not(target_arch = "x86_64"))]
mod raw {
    pub const AVAILABLE: bool = false;

    pub unsafe fn call3(number: libc::c_long, a: usize, b: usize, c: usize) -> isize {
        // SAFETY: the caller's.
        let result = unsafe { libc::syscall(number, a, b, c) };
        if result < 0 {
            -(std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as isize)
        } else {
            result as isize
        }
    }

    pub fn thread_pointer() -> usize {
        0
    }

    pub unsafe fn exit(code: i32) -> ! {
        unsafe { libc::_exit(code) }
    }
}

/// A forked child waiting at the gate.
pub struct GatedChild {
    pub pid: libc::pid_t,
    go: Option<OwnedFd>,
    status: OwnedFd,
}

/// The machine's monotonic clock in nanoseconds (`CLOCK_MONOTONIC`, which `Instant` reads too).
/// Async-signal-safe (the gated child calls it).
pub fn monotonic_ns() -> u64 {
    // SAFETY: clock_gettime fills the timespec on our stack.
    let mut now: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes one message on the status pipe (what [`GatedChild::read_status`] reads).
/// Async-signal-safe.
fn tell(status: RawFd, stage: u32, errno: i32, moment: u64) {
    tell_with_cpu(status, stage, errno, moment, SetupCpu::default());
}

fn tell_with_cpu(status: RawFd, stage: u32, errno: i32, moment: u64, cpu: SetupCpu) {
    let message = Message::new(stage, errno, moment, cpu);
    // SAFETY: write is async-signal-safe; the message is on our stack.
    unsafe { libc::write(status, (&raw const message).cast(), MESSAGE) };
}

/// One message on the status pipe, as [`GatedChild::read_status`] reads it (native byte order).
#[repr(C)]
struct Message {
    stage: u32,
    errno: i32,
    moment: u64,
    user_us: u64,
    system_us: u64,
}

const _: () = assert!(std::mem::size_of::<Message>() == MESSAGE);

impl Message {
    #[inline(always)]
    fn new(stage: u32, errno: i32, moment: u64, cpu: SetupCpu) -> Message {
        Message {
            stage,
            errno,
            moment,
            user_us: cpu.user_us,
            system_us: cpu.system_us,
        }
    }
}

/// Writes a stage report and ends the child. Async-signal-safe.
fn fail(status: RawFd, stage: u32, errno: i32) -> ! {
    tell(status, stage, errno, 0);
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(127) }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Makes `from` the descriptor `to` of the child (not closed at exec). Async-signal-safe.
fn install(from: RawFd, to: RawFd) -> bool {
    // SAFETY: descriptor operations on descriptors the child holds.
    unsafe {
        if from == to {
            let flags = libc::fcntl(to, libc::F_GETFD);
            flags >= 0 && libc::fcntl(to, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == 0
        } else {
            libc::dup2(from, to) == to
        }
    }
}

impl GatedChild {
    /// Forks the child, which sets itself up and waits. Returns once it waits at the gate, or
    /// the error that stopped it (the child is then reaped).
    pub fn start(
        program: &Program,
        stdout: RawFd,
        stderr: RawFd,
        confinement: Option<&confine::Prepared>,
    ) -> Result<GatedChild, String> {
        let null = std::fs::File::open("/dev/null")
            .map_err(|error| format!("cannot open /dev/null: {error}"))?;
        let (go_read, go_write) = pipe().map_err(|error| format!("cannot make a pipe: {error}"))?;
        let (status_read, status_write) =
            pipe().map_err(|error| format!("cannot make a pipe: {error}"))?;
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // On the launcher's stack, which the child keeps.
        let crossing = Crossing {
            go: go_read.as_raw_fd(),
            status: status_write.as_raw_fd(),
            path: program.path,
            argv: program.argv,
            envp: program.envp,
            shed: shed_ranges(&program.arena),
        };
        // SAFETY: the child runs only async-signal-safe system calls on data built before the
        // fork, and ends in execve or _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!(
                "cannot fork the snippet's process: {}",
                std::io::Error::last_os_error()
            ));
        }
        if pid == 0 {
            let status = status_write.as_raw_fd();
            // SAFETY (whole block): async-signal-safe system calls on prepared data.
            unsafe {
                libc::close(go_write.as_raw_fd());
                if !install(null.as_raw_fd(), 0) || !install(stdout, 1) || !install(stderr, 2) {
                    fail(status, STAGE_STDIO, errno());
                }
                if libc::chdir(program.cwd.as_ptr()) != 0 {
                    fail(status, STAGE_CWD, errno());
                }
                if libc::setpgid(0, 0) != 0 {
                    fail(status, STAGE_GROUP, errno());
                }
                // If the launcher dies, the snippet dies with it (and if it died already, the
                // gate never opens).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                if libc::getppid() != parent {
                    libc::_exit(127);
                }
                // What a new program expects to inherit: default dispositions for the signals
                // the launcher changed, and nothing blocked.
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let mut empty: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut empty);
                libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                // Last: the seccomp filter is the snippet's from here on (it refuses none of
                // read, write and execve).
                if let Some(prepared) = confinement {
                    if let Err(error) = prepared.apply() {
                        fail(status, STAGE_CONFINE, error.raw_os_error().unwrap_or(0));
                    }
                }
                through_the_gate(&crossing);
            }
        }
        drop(status_write);
        drop(go_read);
        let mut child = GatedChild {
            pid,
            go: Some(go_write),
            status: status_read,
        };
        match child.read_status() {
            Some((READY, ..)) => Ok(child),
            Some((stage, errno, ..)) => {
                child.reap();
                Err(format!(
                    "{}: {}",
                    stage_name(stage),
                    std::io::Error::from_raw_os_error(errno)
                ))
            }
            None => {
                child.reap();
                Err("the snippet's process ended before it was set up".to_string())
            }
        }
    }

    /// Opens the gate: the child executes the program.
    pub fn go(&mut self) {
        if let Some(go) = self.go.take() {
            let byte = 1u8;
            // SAFETY: writing one byte from our stack to a pipe we own.
            unsafe { libc::write(go.as_raw_fd(), (&byte as *const u8).cast(), 1) };
        }
    }

    /// After the child ended: when it passed the gate, on the monotonic clock in nanoseconds
    /// (the start of the measured window), with the CPU it had used by then (`None` if it never
    /// passed), and why `execve` failed, if it did (`None` once it executed).
    pub fn after_end(&self) -> (Option<(u64, SetupCpu)>, Option<String>) {
        let mut passed = None;
        while let Some((stage, errno, moment, cpu)) = self.read_status() {
            if stage == PASSED {
                passed = Some((moment, cpu));
                continue;
            }
            let error = format!(
                "{}: {}",
                stage_name(stage),
                std::io::Error::from_raw_os_error(errno)
            );
            return (passed, Some(error));
        }
        (passed, None)
    }

    fn read_status(&self) -> Option<(u32, i32, u64, SetupCpu)> {
        let mut message = [0u8; MESSAGE];
        let mut filled = 0;
        while filled < message.len() {
            // SAFETY: reading into the rest of our buffer from a pipe we own.
            let read = unsafe {
                libc::read(
                    self.status.as_raw_fd(),
                    message[filled..].as_mut_ptr().cast(),
                    message.len() - filled,
                )
            };
            if read < 0 && errno() == libc::EINTR {
                continue;
            }
            if read <= 0 {
                return None;
            }
            filled += read as usize;
        }
        let stage = u32::from_ne_bytes(message[..4].try_into().ok()?);
        let errno = i32::from_ne_bytes(message[4..8].try_into().ok()?);
        let moment = u64::from_ne_bytes(message[8..16].try_into().ok()?);
        let cpu = SetupCpu {
            user_us: u64::from_ne_bytes(message[16..24].try_into().ok()?),
            system_us: u64::from_ne_bytes(message[24..].try_into().ok()?),
        };
        Some((stage, errno, moment, cpu))
    }

    fn reap(&mut self) {
        self.go = None;
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_up_cpu_travels_with_the_gates_passing() {
        let (read, write) = pipe().unwrap();
        let cpu = SetupCpu {
            user_us: 312,
            system_us: 1_204,
        };
        tell_with_cpu(write.as_raw_fd(), PASSED, 0, 987_654_321, cpu);
        tell(write.as_raw_fd(), STAGE_EXEC, libc::ENOENT, 0);
        drop(write);
        let child = GatedChild {
            pid: 0,
            go: None,
            status: read,
        };
        let (passed, error) = child.after_end();
        assert_eq!(passed, Some((987_654_321, cpu)));
        assert!(error.is_some_and(|error| error.contains("No such file")));
    }

    /// Starts `program` at the gate with its output thrown away.
    fn gated(program: &Program) -> GatedChild {
        let sink = std::fs::File::create("/dev/null").unwrap();
        GatedChild::start(program, sink.as_raw_fd(), sink.as_raw_fd(), None).unwrap()
    }

    /// Opens the gate and waits for the child: its exit code.
    fn through(child: &mut GatedChild) -> i32 {
        child.go();
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(child.pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        libc::WEXITSTATUS(status)
    }

    #[test]
    fn the_child_waits_at_the_gate_with_its_code_stack_and_arguments_only() {
        let program = Program::new(
            Path::new("sh"),
            &[
                "-c".to_string(),
                "test \"$1\" = ok && exit 3".to_string(),
                "sh".to_string(),
                "ok".to_string(),
            ],
            &[("PATH".to_string(), "/usr/bin:/bin".to_string())],
            Path::new("/"),
        )
        .unwrap();
        let ours = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mut child = gated(&program);
        let theirs = std::fs::read_to_string(format!("/proc/{}/maps", child.pid)).unwrap();
        let arena = format!("{:x}-", program.arena.start);
        assert!(
            theirs.lines().any(|line| line.starts_with(&arena)),
            "{theirs}"
        );
        if raw::AVAILABLE {
            // The heap (and everything else below the stack but the code, the arena and the
            // thread's rseq area) is gone before the gate opens. (A test runs on a thread,
            // whose stack is mapped below the libraries, so they stay.)
            assert!(ours.contains("[heap]"), "{ours}");
            assert!(!theirs.contains("[heap]"), "{theirs}");
            assert!(theirs.lines().count() < ours.lines().count(), "{theirs}");
        }
        assert_eq!(through(&mut child), 3);
        let (passed, error) = child.after_end();
        assert!(passed.is_some_and(|(moment, _)| moment > 0));
        assert_eq!(error, None);
    }

    #[test]
    fn arguments_and_environment_spanning_many_pages_reach_the_program_whole() {
        // 40 arguments and a 100 KiB variable (a single string may not pass 128 KiB): the
        // arena spans about 26 pages.
        let long = "x".repeat(100 * 1024);
        let mut args = vec![
            "-c".to_string(),
            "test \"$#\" = 40 && test \"${40}\" = last && test \"${#LONG}\" = 102400 && exit 4"
                .to_string(),
            "sh".to_string(),
        ];
        args.extend((1..40).map(|index| format!("argument {index}")));
        args.push("last".to_string());
        let program = Program::new(
            Path::new("sh"),
            &args,
            &[
                ("PATH".to_string(), "/usr/bin:/bin".to_string()),
                ("LANG".to_string(), "C.UTF-8".to_string()),
                ("LONG".to_string(), long),
            ],
            Path::new("/"),
        )
        .unwrap();
        assert!(program.arena.len > 100 * 1024);
        let mut child = gated(&program);
        assert_eq!(through(&mut child), 4);
        assert_eq!(child.after_end().1, None);
    }

    #[test]
    fn a_program_that_cannot_be_executed_is_told_after_the_gate() {
        let program = Program::new(Path::new("/proc/self/cwd"), &[], &[], Path::new("/")).unwrap();
        let mut child = gated(&program);
        assert_eq!(through(&mut child), 127);
        let (passed, error) = child.after_end();
        assert!(passed.is_some());
        assert!(
            error
                .as_deref()
                .is_some_and(|error| error.contains("Permission denied")),
            "{error:?}"
        );
    }
}
