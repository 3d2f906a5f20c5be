# Prepares the working directories of the fuzz targets and derives seeds from the project's real
# data, so nothing is copied into the source tree:
#   cmake -DSOURCE_DIR=<repo> -DWORK_DIR=<build>/tests/fuzz -DTARGETS=podlist,watch_event,... -P seed_corpus.cmake
# For each target T it creates WORK_DIR/corpus/T (new inputs of tests/fuzz.sh runs, kept),
# WORK_DIR/ctest-corpus/T (new inputs of a CTest run, emptied here), WORK_DIR/artifacts/T
# (crashes) and WORK_DIR/seeds/T (derived seeds, rewritten on every run):
#   podlist       one-pod PodLists cut from the kubelet PodLists, the watch events' objects and
#                 the GKE pod statuses (the whole PodLists are read from tests/data directly)
#   watch_event   each line of the *.ndjson samples; each kubelet pod as a MODIFIED event
#   label_selector  each labelled pod's labels as a selector plus the labels themselves
#   cgroup_path   each path of the coroot-node-agent vectors
#   config        systemd/iops-limit.env as shipped and with every variable uncommented
#   env_file      the samples in tests/data/envfiles smaller than 8 KiB
cmake_minimum_required(VERSION 3.19)  # string(JSON)

foreach(var SOURCE_DIR WORK_DIR TARGETS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "seed_corpus.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "," ";" TARGETS "${TARGETS}")
set(DATA ${SOURCE_DIR}/tests/data)

foreach(t ${TARGETS})
  file(MAKE_DIRECTORY ${WORK_DIR}/corpus/${t} ${WORK_DIR}/artifacts/${t})
  file(REMOVE_RECURSE ${WORK_DIR}/seeds/${t} ${WORK_DIR}/ctest-corpus/${t})
  file(MAKE_DIRECTORY ${WORK_DIR}/seeds/${t} ${WORK_DIR}/ctest-corpus/${t})
endforeach()

set(count 0)
# A function, not a macro: macro arguments would have their backslashes re-read.
function(seed target name content)
  if(target IN_LIST TARGETS)
    file(WRITE ${WORK_DIR}/seeds/${target}/${name} "${content}")
    math(EXPR n "${count} + 1")
    set(count ${n} PARENT_SCOPE)
  endif()
endfunction()

function(list_length json out)
  string(JSON n ERROR_VARIABLE err LENGTH "${json}" ${ARGN})
  if(err)
    set(n 0)
  endif()
  set(${out} ${n} PARENT_SCOPE)
endfunction()

set(PODLIST_HEAD "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[")

# Kubelet PodLists: one seed per pod.
foreach(file nri-kubernetes_1_35_kubelet_pods nri-kubernetes_1_18_docker_kubelet_pods)
  file(READ ${DATA}/${file}.json json)
  list_length("${json}" n items)
  if(n GREATER 0)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
      string(JSON pod GET "${json}" items ${i})
      seed(podlist ${file}-${i}.json "${PODLIST_HEAD}${pod}]}")
      seed(watch_event ${file}-${i}.json "{\"type\":\"MODIFIED\",\"object\":${pod}}")
      string(JSON labels ERROR_VARIABLE err GET "${json}" items ${i} metadata labels)
      if(NOT err)
        list_length("${labels}" nl)
        if(nl GREATER 0)
          set(selector "")
          set(lines "")
          math(EXPR lastl "${nl} - 1")
          foreach(j RANGE ${lastl})
            string(JSON k MEMBER "${labels}" ${j})
            string(JSON v GET "${labels}" "${k}")
            if(selector)
              string(APPEND selector ",")
            endif()
            string(APPEND selector "${k}=${v}")
            string(APPEND lines "\n${k}=${v}")
          endforeach()
          seed(label_selector ${file}-${i} "${selector}${lines}\n")
        endif()
      endif()
    endforeach()
  endif()
endforeach()

# GKE pod statuses (a JSON array of {pod_name, status}): wrapped as pods.
file(READ ${DATA}/atomist_gke_containerd_2020_pod_statuses.json json)
list_length("${json}" n)
if(n GREATER 0)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON status GET "${json}" ${i} status)
    string(JSON name GET "${json}" ${i} pod_name)
    set(pod "{\"metadata\":{\"name\":\"${name}\",\"namespace\":\"gke\",\"uid\":\"0000000${i}-feed-4bad-8000-00000000cafe\"},\"status\":${status}}")
    seed(podlist atomist-${i}.json "${PODLIST_HEAD}${pod}]}")
    seed(watch_event atomist-${i}.json "{\"type\":\"ADDED\",\"object\":${pod}}")
  endforeach()
endif()

# Watch samples: one seed per line; pod objects also as one-pod PodLists.
file(GLOB ndjson_files ${DATA}/*.ndjson)
foreach(f ${ndjson_files})
  get_filename_component(base ${f} NAME_WE)
  file(READ ${f} text)
  set(i 0)
  while(NOT text STREQUAL "")
    string(FIND "${text}" "\n" nl)
    if(nl EQUAL -1)
      set(line "${text}")
      set(text "")
    else()
      string(SUBSTRING "${text}" 0 ${nl} line)
      math(EXPR rest "${nl} + 1")
      string(SUBSTRING "${text}" ${rest} -1 text)
    endif()
    if(NOT line STREQUAL "")
      seed(watch_event ${base}-${i}.json "${line}")
      string(JSON object ERROR_VARIABLE err GET "${line}" object)
      if(NOT err)
        seed(podlist ${base}-${i}.json "${PODLIST_HEAD}${object}]}")
      endif()
      math(EXPR i "${i} + 1")
    endif()
  endwhile()
endforeach()

# coroot cgroup path vectors: "<path> TAB <type> TAB <id>", '#' comments.
file(STRINGS ${DATA}/coroot_cgroup_path_test_vectors.txt vectors REGEX "^/")
set(i 0)
foreach(v ${vectors})
  string(REGEX REPLACE "\t.*" "" path "${v}")
  seed(cgroup_path coroot-${i} "${path}")
  math(EXPR i "${i} + 1")
endforeach()

# The shipped environment file, as is and with every variable set.
file(READ ${SOURCE_DIR}/systemd/iops-limit.env envfile)
seed(config iops-limit.env "${envfile}")
string(REGEX REPLACE "\n#([A-Z_]+=)" "\n\\1" active "${envfile}")
seed(config iops-limit-active.env "${active}")

# The environment file samples whose reading by systemd is recorded (tests/data/envfiles), but
# for the two of 128 KiB: libFuzzer would take its input length from them.
if(env_file IN_LIST TARGETS)
  file(GLOB envfiles ${DATA}/envfiles/*.env)
  foreach(f ${envfiles})
    file(SIZE ${f} size)
    if(size LESS 8192)
      file(COPY ${f} DESTINATION ${WORK_DIR}/seeds/env_file)
      math(EXPR count "${count} + 1")
    endif()
  endforeach()
endif()

message(STATUS "fuzz seeds: ${count} derived from tests/data and systemd/ into ${WORK_DIR}/seeds")
