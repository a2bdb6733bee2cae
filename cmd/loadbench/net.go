package main

import "net"

// netListen listens on a loopback TCP address.
func netListen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
