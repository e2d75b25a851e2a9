# pugixml for the mingw build: Debian ships no mingw library, so its source
# (from the Debian source package, fetched by
# deploy/linux/install-build-deps.sh --windows into a cache outside the
# repository) is compiled into a static library. Defines pugixml::pugixml
# like the Debian and vcpkg packages do.
if(TARGET pugixml::pugixml)
  return()
endif()
set(PKIWATCH_PUGIXML_SOURCE_DIR "/var/cache/pkiwatch/pugixml-src/current/src" CACHE PATH
    "Directory holding pugixml.cpp, pugixml.hpp and pugiconfig.hpp (Debian source package)")
if(NOT EXISTS "${PKIWATCH_PUGIXML_SOURCE_DIR}/pugixml.cpp")
  message(FATAL_ERROR
    "pugixml source not found in PKIWATCH_PUGIXML_SOURCE_DIR=${PKIWATCH_PUGIXML_SOURCE_DIR}; "
    "run deploy/linux/install-build-deps.sh --windows")
endif()
add_library(pkiwatch_pugixml STATIC "${PKIWATCH_PUGIXML_SOURCE_DIR}/pugixml.cpp")
target_include_directories(pkiwatch_pugixml SYSTEM PUBLIC "${PKIWATCH_PUGIXML_SOURCE_DIR}")
add_library(pugixml::pugixml ALIAS pkiwatch_pugixml)
