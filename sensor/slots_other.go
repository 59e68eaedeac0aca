//go:build !linux

package sensor

func allocSlots(n int) []slot { return make([]slot, n) }

func freeSlots([]slot) {}
