package textproto

// queueCap is how many commands awaiting answers a Queue remembers
// (pipelining: SMTP RFC 2920, POP3 RFC 2449 6.6).
const queueCap = 16

// Queue is a bounded FIFO of commands awaiting their answers. It never
// allocates; when full, the oldest command is forgotten.
type Queue[T comparable] struct {
	items [queueCap]T
	head  int
	n     int
}

// Push appends a command.
func (q *Queue[T]) Push(k T) {
	if q.n == queueCap {
		q.head = (q.head + 1) % queueCap // forget the oldest
		q.n--
	}
	q.items[(q.head+q.n)%queueCap] = k
	q.n++
}

// Pop takes the oldest command; false when none waits.
func (q *Queue[T]) Pop() (T, bool) {
	var zero T
	if q.n == 0 {
		return zero, false
	}
	k := q.items[q.head]
	q.head = (q.head + 1) % queueCap
	q.n--
	return k, true
}

// Seek brings the oldest command equal to k to the head, dropping those
// before it (their answers were lost); false when none waits.
func (q *Queue[T]) Seek(k T) bool {
	for i := 0; i < q.n; i++ {
		if q.items[(q.head+i)%queueCap] == k {
			q.head = (q.head + i) % queueCap
			q.n -= i
			return true
		}
	}
	return false
}

// Len is the number of commands waiting.
func (q *Queue[T]) Len() int { return q.n }

// Clear forgets every command.
func (q *Queue[T]) Clear() { q.head, q.n = 0, 0 }
