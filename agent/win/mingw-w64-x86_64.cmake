# Cross toolchain for the Win32-only parts of pkiwatch (agent/win, the
# portable event-log core, tests/win) with Debian's mingw-w64:
#
#   cmake -S . -B build-win -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=agent/win/mingw-w64-x86_64.cmake \
#     -DPKIWATCH_WIN32_DIAG_ONLY=ON \
#     -DPKIWATCH_PUGIXML_SOURCE_DIR=/var/cache/pkiwatch/pugixml-src/current/src
#
# Test executables run under wine through run-under-wine.sh (the crosscompiling
# emulator), so gtest_discover_tests and ctest work as on a native build.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_mingw_prefix x86_64-w64-mingw32)
# The -posix variants: the default win32 thread model has no std::mutex or
# std::thread.
set(CMAKE_C_COMPILER ${_mingw_prefix}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_mingw_prefix}-g++-posix)
set(CMAKE_RC_COMPILER ${_mingw_prefix}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${_mingw_prefix})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Static runtime (libstdc++, libgcc, winpthreads): the .exe files run on a
# plain Windows or wine without mingw DLLs beside them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/run-under-wine.sh")
