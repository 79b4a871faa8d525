{
  "targets": [
    {
      "target_name": "mdprop",
      "sources": [
        "native/addon.cc",
        "native/tensor_handle.cc",
        "native/ops.cc",
        "native/tensor_io.cc",
        "native/autograd.cc",
        "native/runtime.cc",
        "native/torch_zip.cc",
        "native/c10d.cc",
        "native/sync_batchnorm.cc",
        "native/cpu_allocator.cc",
        "native/profiler.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/torch-paths.mjs include)",
        "native/compat"
      ],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "<!@(node scripts/torch-paths.mjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["<!@(node scripts/torch-paths.mjs libs)"]
    }
  ]
}
