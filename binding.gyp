{
  # The Node addon: native/core (C11, compiled in) + the thin C++ binding in
  # native/addon. Built by `npm run build:addon` (npm's bundled node-gyp)
  # into build/Release/zerobuffer.node; meson owns builddir/. npm pack
  # prebuilds it (prebuildify → prebuilds/); an install where no prebuilt
  # addon loads builds it from the packaged sources (node-gyp-build).
  "targets": [
    {
      "target_name": "zerobuffer",
      "sources": [
        "<!@(ls -1 native/core/src/*.c)",
        "native/addon/binding.cc",
        "native/addon/binding-common.cc",
        "native/addon/writer-binding.cc",
        "native/addon/reader-session.cc",
        "native/addon/ring-view.cc",
        "native/addon/writer-session.cc",
        "native/addon/wait-thread.cc",
        "native/addon/uring-waiter.cc",
        "native/addon/convert.c",
        "native/addon/convert-binding.cc",
        "native/addon/signal-hold.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/core/include"
      ],
      "defines": [
        "_GNU_SOURCE",
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS",
        # While a worker ends (terminate(), process.exit()) JS can no longer
        # run and napi_throw fails: node-addon-api then throws a C++
        # exception out of the method's wrapper, which ends the whole
        # process; with this it drops the error, which no JS could catch.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        # The package version the addon is built for (src/native.ts refuses
        # an addon of another one: EADDON); package.json is its one source.
        "ZEROBUFFER_PACKAGE_VERSION=\"<!(node -p \"require('./package.json').version\")\""
      ],
      # Hidden: the addon exports only what Node loads it by (NAPI_MODULE's
      # napi_register_module_v1 and node_api_module_get_api_version_v1), and
      # calls its own compiled-in core, never the zb_* of a
      # libzerobuffer.so.0 or of the GStreamer plugin loaded in the same
      # process (test/node/exports.test.ts checks).
      "cflags": ["-fvisibility=hidden"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags!": ["-fno-exceptions"],
      "defines!": ["NAPI_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-lpthread", "-lrt"],
      # Never unloaded: Node dlcloses an addon with the last worker
      # environment that loaded it, before that worker's heap is torn down,
      # and the heap then frees the ring views still alive through the
      # addon's code (ring-view.cc: the backing store's deleter and its
      # shared_ptr control block): SIGSEGV at exit.
      "ldflags": ["-Wl,-z,nodelete"]
    }
  ]
}
