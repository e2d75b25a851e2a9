# Sources of the portable event-log core and of edge flood control: standard
# library + pugixml only (no Abseil, no protobuf), so the mingw-w64 build of
# pkiwatch-diag.exe can compile them by path:
#   include(${CMAKE_SOURCE_DIR}/agent/eventlog/sources.cmake)
#   add_library(x STATIC ${PKIWATCH_EVENTLOG_CORE_SOURCES} ${PKIWATCH_EDGE_DEDUP_SOURCES})
#   target_include_directories(x PUBLIC ${CMAKE_SOURCE_DIR})
#   target_link_libraries(x PUBLIC pugixml::pugixml)
set(PKIWATCH_EVENTLOG_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/autoenrollment.cc
  ${CMAKE_CURRENT_LIST_DIR}/enterprise_cas.cc
  ${CMAKE_CURRENT_LIST_DIR}/error_text.cc
  ${CMAKE_CURRENT_LIST_DIR}/event_classifier.cc
  ${CMAKE_CURRENT_LIST_DIR}/event_xml.cc
  ${CMAKE_CURRENT_LIST_DIR}/message_template.cc
  ${CMAKE_CURRENT_LIST_DIR}/text_decoder.cc
)
set(PKIWATCH_EDGE_DEDUP_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/../core/edge_dedup.cc
)
