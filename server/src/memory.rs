//! Handing memory back to the operating system.

/// Returns the allocators' free pages to the OS. Recovery decodes a whole
/// snapshot and log, and the scratch memory it frees would otherwise stay
/// in the process (glibc keeps freed heap pages, mimalloc frees them
/// lazily) and count as resident.
pub fn return_free_pages() {
    // SAFETY: mi_collect only walks mimalloc's own heaps; harmless when
    // mimalloc is not the global allocator (the binary's is).
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
