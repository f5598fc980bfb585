package libvirt

import "syscall"

// statfs is the size of the file system holding the instances.
type statfs struct{ totalGB int64 }

func (s *statfs) of(path string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return err
	}
	s.totalGB = int64(st.Blocks) * st.Bsize >> 30
	return nil
}
