{
  "targets": [
    {
      "target_name": "tsgt_blockio",
      "sources": ["native/blockio.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
