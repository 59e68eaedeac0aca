package sensor

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// allocSlots maps a flow table outside the Go heap, asking for huge pages
// where the kernel grants them (transparent_hugepage=madvise): a table of
// millions of slots faults in a few 2 MiB pages instead of thousands of
// 4 KiB ones, which on a virtual machine cost more than the lookups. The
// slots hold no Go pointer, so the memory needs no garbage collector.
func allocSlots(n int) []slot {
	size := n * int(unsafe.Sizeof(slot{}))
	if size < 2<<20 {
		return make([]slot, n)
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return make([]slot, n)
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	return unsafe.Slice((*slot)(unsafe.Pointer(&b[0])), n)
}

// freeSlots gives a table from allocSlots back.
func freeSlots(s []slot) {
	size := len(s) * int(unsafe.Sizeof(slot{}))
	if size < 2<<20 {
		return // the garbage collector's
	}
	_ = unix.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), size))
}
