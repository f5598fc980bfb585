package qemu

// reverter undoes the steps of a multi-step change that failed half way,
// last step first, so that a failed spawn leaves nothing behind.
type reverter struct{ undo []func() }

// add registers the undo of a step that succeeded.
func (r *reverter) add(f func()) { r.undo = append(r.undo, f) }

// done keeps every step: nothing is undone.
func (r *reverter) done() { r.undo = nil }

// revert undoes the registered steps unless done was called; defer it.
func (r *reverter) revert() {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	r.undo = nil
}
