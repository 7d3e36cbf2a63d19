package main

import "syscall"

// childAttr makes a server die with the benchmark even when the benchmark
// is killed outright.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
