# Cross-compiling for 64-bit ARM with Debian's g++-aarch64-linux-gnu and the
# :arm64 -dev packages (multiarch); tests run under qemu-user. Used by
# .ci/run with -DZIPLLM_CORE_ONLY=ON.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian multiarch: arm64 libraries in /usr/lib/aarch64-linux-gnu, headers
# shared in /usr/include.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# pkg-config finds the arm64 .pc files (and the architecture-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
# Linked statically: qemu-user 7.2 with Debian's dynamic arm64 glibc spins
# forever in the first contended pthread_mutex_lock (a plain std::thread +
# std::mutex program shows it), while the same program linked statically runs.
set(ZIPLLM_STATIC ON CACHE BOOL "Link executables statically")
