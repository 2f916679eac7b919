#!/usr/bin/env python3
"""A runc-style console socket: accept one connection, receive the pty master
(SCM_RIGHTS), optionally type a line into it, print what the container writes
until it hangs up. Used by the terminal tests."""
import os
import socket
import sys

path, typed = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
msg, fds, _flags, _addr = socket.recv_fds(conn, 1024, 1)
print(f"name={msg.decode()}", flush=True)
master = fds[0]
if typed:
    os.write(master, typed.encode() + b"\n")
out = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:  # EIO: the slave side closed
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode(errors="replace"))
