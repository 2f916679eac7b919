{
  "target_defaults": {
    "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-D_GNU_SOURCE", "-fno-strict-aliasing"],
    "cflags_c": ["-std=gnu11"],
    "ldflags": ["-Wl,-z,now"],
    "libraries": ["-lseccomp"],
    "include_dirs": ["native/launch", "native/common"]
  },
  "targets": [
    {
      "target_name": "launch",
      "type": "static_library",
      "cflags": ["-fPIC", "-ffunction-sections", "-fdata-sections"],
      "sources": [
        "native/launch/plan.c", "native/launch/launch.c", "native/launch/child.c", "native/launch/rootfs.c",
        "native/launch/process.c", "native/launch/seccomp.c", "native/launch/sigsafe.c", "native/launch/console.c",
        "native/launch/device_filter.c", "native/launch/exe_seal.c", "native/launch/child_handoff.c",
        "native/common/uid_map.c"
      ]
    },
    {
      "target_name": "podrun",
      "dependencies": ["launch", "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "sources": [
        "native/addon/addon.cc", "native/addon/fsops.cc", "native/addon/process_spawn.cc", "native/addon/netns_connect.cc",
        "native/image/layer_unpacker.cc", "native/image/layer_apply.cc", "native/image/file_finisher.cc",
        "native/image/decompress.cc", "native/image/tar_stream.cc"
      ],
      "include_dirs": ["native/addon"],
      "libraries": ["-lseccomp", "-lzstd", "-pthread"],
      "cflags_cc": ["-std=c++17"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      "target_name": "podrun-monitor",
      "type": "executable",
      "dependencies": ["launch"],
      "sources": [
        "native/monitor/monitor.c", "native/monitor/supervisor.c", "native/monitor/cri_log.c", "native/monitor/tty_proxy.c",
        "native/monitor/rootfs_reset.c", "native/monitor/sandbox.c", "native/monitor/net_probe.c", "native/monitor/owner_reaper.c", "native/rootless/rootless_ns.c", "native/rootless/entry.c", "native/common/handshake.c", "native/common/proc_stat.c", "native/common/write_full.c"
      ],
      "cflags": ["-ffunction-sections", "-fdata-sections"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    },
    {
      "target_name": "podrun-oci",
      "type": "executable",
      "dependencies": ["launch"],
      "sources": ["native/oci/oci-fast.c", "native/oci/helper_client.c", "native/common/proc_stat.c", "native/common/write_full.c"],
      "cflags": ["-ffunction-sections", "-fdata-sections"],
      "ldflags": ["-static", "-Wl,--gc-sections"]
    }
  ]
}
