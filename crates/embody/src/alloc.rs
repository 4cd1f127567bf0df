//! Process-wide allocator tuning for large messages.

/// Keeps glibc's malloc from returning large buffers to the kernel after each message.
///
/// By default glibc serves blocks above 128 KiB with fresh `mmap`s (or trims the heap after
/// freeing them), so every 1 MB point cloud or image is page-faulted in again, and the page
/// faults, not the copies, dominate the latency of large messages (measured by `cargo bench
/// --bench middleware`: 1 MB ping-pong p50 about 2x raw zenoh with the defaults, about 1.05x with
/// this). It raises the mmap threshold to 32 MiB (glibc's maximum on 64-bit) and the trim
/// threshold to 64 MiB, which
/// trades resident memory for speed. Call it once at the start of `main`; it affects the
/// whole process (so a benchmark comparing against raw zenoh in the same process is still
/// fair). Returns false where it does not apply (not glibc) or glibc refused.
pub fn tune_allocator_for_large_messages() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes glibc's malloc parameters; any value is accepted or
        // rejected by its return code.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
