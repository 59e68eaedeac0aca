package textproto

import "testing"

func TestQueue(t *testing.T) {
	var q Queue[int]
	if _, ok := q.Pop(); ok {
		t.Fatal("pop from empty")
	}
	for i := 1; i <= queueCap+2; i++ { // two more than it holds: 1 and 2 are forgotten
		q.Push(i)
	}
	if q.Len() != queueCap {
		t.Fatalf("len %d", q.Len())
	}
	if k, _ := q.Pop(); k != 3 {
		t.Fatalf("oldest %d, want 3", k)
	}
	if !q.Seek(10) || q.Len() != queueCap-7 {
		t.Fatalf("seek: len %d", q.Len())
	}
	if k, _ := q.Pop(); k != 10 {
		t.Fatalf("after seek %d, want 10", k)
	}
	if q.Seek(99) {
		t.Fatal("seek found a missing command")
	}
	q.Clear()
	if q.Len() != 0 {
		t.Fatal("clear")
	}
}
