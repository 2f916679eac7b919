{
  "target_defaults": {
    "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-D_GNU_SOURCE", "-fno-strict-aliasing"],
    "cflags_c": ["-std=gnu11"],
    "ldflags": ["-Wl,-z,now"],
    "libraries": ["-lseccomp"]
  },
  "targets": [
    {
      "target_name": "launch",
      "type": "static_library",
      "cflags": ["-fPIC", "-ffunction-sections", "-fdata-sections"],
      "sources": [
        "native/plan.c", "native/launch.c", "native/child.c", "native/rootfs.c",
        "native/process.c", "native/seccomp.c", "native/sigsafe.c", "native/console.c", "native/device_filter.c",
        "native/exe_seal.c", "native/child_handoff.c"
      ]
    },
    {
      "target_name": "podrun",
      "dependencies": ["launch", "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "sources": ["native/addon.cc", "native/fsops.cc", "native/layer_unpacker.cc", "native/layer_apply.cc", "native/file_finisher.cc", "native/decompress.cc", "native/tar_stream.cc"],
      "libraries": ["-lseccomp", "-lzstd", "-pthread"],
      "cflags_cc": ["-std=c++17"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "podrun-monitor",
      "type": "executable",
      "dependencies": ["launch"],
      "sources": ["native/monitor.c", "native/supervisor.c", "native/cri_log.c", "native/tty_proxy.c", "native/rootfs_reset.c", "native/sandbox.c", "native/net_probe.c", "native/proc_stat.c"],
      "cflags": ["-ffunction-sections", "-fdata-sections"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    },
    {
      "target_name": "podrun-oci",
      "type": "executable",
      "sources": ["native/oci-fast.c", "native/proc_stat.c"],
      "ldflags": ["-static"]
    }
  ]
}
