//! Handing memory back to the operating system.

/// Returns the allocator's free pages to the OS. Recovery decodes a whole
/// snapshot and log, and the scratch memory it frees would otherwise stay
/// in the process (glibc keeps freed heap pages) and count as resident.
pub fn return_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
