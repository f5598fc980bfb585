package main

import (
	"crypto/md5"
	"crypto/sha512"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"
)

// rssSampler records the highest VmRSS of a process, read every interval,
// while it runs.
type rssSampler struct {
	pid     int
	stop    chan struct{}
	done    sync.WaitGroup
	peakKB  int64
	samples int
}

// startRSS begins sampling pid's VmRSS every interval.
func startRSS(pid int, interval time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{})}
	s.sample()
	s.done.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	})
	return s
}

func (s *rssSampler) sample() {
	st, err := readKB(fmt.Sprintf("/proc/%d/status", s.pid), "VmRSS:")
	if err != nil {
		return
	}
	s.samples++
	s.peakKB = max(s.peakKB, st["VmRSS:"])
}

// finish stops sampling and returns the peak in KiB and the number of samples.
func (s *rssSampler) finish() (int64, int) {
	close(s.stop)
	s.done.Wait()
	s.sample()
	return s.peakKB, s.samples
}

// serverMemory is pid's current and peak (VmHWM) resident memory in KiB.
func serverMemory(pid int) (rss, hwm int64, err error) {
	st, err := readKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:", "VmHWM:")
	if err != nil {
		return 0, 0, err
	}
	return st["VmRSS:"], st["VmHWM:"], nil
}

// cmdImage measures the image data path as upstream's tool does: create an
// image, upload, wait for active, download, delete, -n times.
func cmdImage(args []string) error {
	fs := newFlags("image")
	sizeFlag := fs.String("size", "64MiB", "image size (64MiB, 512MiB, 2GiB)")
	n := fs.Int("n", 3, "images to create, upload, download and delete, one after the other")
	pid := fs.Int("pid", 0, "the server's process id, when it runs on this machine: also report its memory and CPU during the upload")
	endpoint := fs.String("endpoint", "", "image endpoint without /v2 (default: from the token's catalog)")
	limit := fs.Duration("timeout", 30*time.Minute, "longest a single request or the wait for active may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	size, err := parseSize(*sizeFlag)
	if err != nil {
		return err
	}
	creds, err := credentialsFromEnv()
	if err != nil {
		return err
	}
	client := newClient(1)
	client.Timeout = *limit
	g, err := login(creds, client, *endpoint)
	if err != nil {
		return err
	}
	for i := range *n {
		out, err := imageRun(g, size, *pid, *limit)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		out["size"] = *sizeFlag
		out["run"] = i + 1
		emit(out)
	}
	return nil
}

// imageRun measures one image's life and returns its fields.
func imageRun(g *glance, size int64, pid int, limit time.Duration) (map[string]any, error) {
	out := map[string]any{"test": "image", "size_bytes": size}
	t0 := time.Now()
	img, err := g.create(fmt.Sprintf("nimbus-bench-%d", t0.UnixNano()))
	if err != nil {
		return nil, err
	}
	out["create_ms"] = ms(time.Since(t0))

	var rss *rssSampler
	var rss0, hwm0 int64
	if pid > 0 {
		if rss0, hwm0, err = serverMemory(pid); err != nil {
			return nil, fmt.Errorf("read server memory: %w", err)
		}
		rss = startRSS(pid, 50*time.Millisecond)
	}
	cpu := startCPU(pid)
	t1 := time.Now()
	if err := g.upload(img.ID, size); err != nil {
		if rss != nil {
			rss.finish()
		}
		return nil, err
	}
	up := time.Since(t1)
	cpu.add(out, int(max(size>>20, 1)))
	perMiB(out)
	if rss != nil {
		peak, samples := rss.finish()
		_, hwm1, _ := serverMemory(pid)
		out["server_rss_before_mib"] = mib(rss0)
		out["server_rss_peak_upload_mib"] = mib(peak)
		out["server_rss_growth_mib"] = mib(peak - rss0)
		out["server_hwm_before_mib"] = mib(hwm0)
		out["server_hwm_after_mib"] = mib(hwm1)
		out["rss_samples"] = samples
	}
	img, err = g.waitActive(img.ID, limit)
	if err != nil {
		return nil, err
	}
	active := time.Since(t1)
	if img.Size == nil || *img.Size != size {
		return nil, fmt.Errorf("image %s is active with size %v, want %d", img.ID, img.Size, size)
	}
	out["upload_s"] = round3(up.Seconds())
	out["upload_MBps"] = mbps(size, up)
	out["upload_to_active_s"] = round3(active.Seconds())

	dcpu := startCPU(pid)
	t2 := time.Now()
	got, err := g.download(img.ID)
	if err != nil {
		return nil, err
	}
	down := time.Since(t2)
	dl := map[string]any{}
	dcpu.add(dl, int(max(size>>20, 1)))
	perMiB(dl)
	for k, v := range dl {
		out["download_"+k] = v
	}
	if got != size {
		return nil, fmt.Errorf("download of %s: %d of %d bytes", img.ID, got, size)
	}
	out["download_s"] = round3(down.Seconds())
	out["download_MBps"] = mbps(size, down)

	t3 := time.Now()
	if err := g.remove(img.ID); err != nil {
		return nil, err
	}
	out["delete_ms"] = ms(time.Since(t3))
	return out, nil
}

// perMiB renames the CPU meter's per-request fields: an upload counts its MiB.
func perMiB(out map[string]any) {
	for _, k := range []string{"server_cpu", "client_cpu"} {
		if v, ok := out[k+"_ms_per_req"]; ok {
			delete(out, k+"_ms_per_req")
			out[k+"_ms_per_MiB"] = v
		}
	}
}

// cmdHashBound measures md5 and sha512 in this process over the bytes the
// image command uploads, in the server's 1 MiB chunks: the server hashes every
// uploaded byte with both, so this is the ceiling of the upload rate.
func cmdHashBound(args []string) error {
	fs := newFlags("hash-bound")
	sizeFlag := fs.String("size", "512MiB", "bytes to hash per run")
	n := fs.Int("n", 3, "runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	size, err := parseSize(*sizeFlag)
	if err != nil {
		return err
	}
	modes := []struct {
		name   string
		hashes func() []hash.Hash
	}{
		{"md5+sha512", func() []hash.Hash { return []hash.Hash{md5.New(), sha512.New()} }},
		{"md5", func() []hash.Hash { return []hash.Hash{md5.New()} }},
		{"sha512", func() []hash.Hash { return []hash.Hash{sha512.New()} }},
		// Not what the server does: each chunk's md5 and sha512 on two cores at once.
		{"md5|sha512 parallel", func() []hash.Hash { return []hash.Hash{&pairHash{a: md5.New(), b: sha512.New()}} }},
	}
	for run := range *n {
		for _, m := range modes {
			d, err := hashPattern(size, m.hashes())
			if err != nil {
				return err
			}
			emit(map[string]any{"test": "hash_bound", "hashes": m.name, "size": *sizeFlag,
				"size_bytes": size, "run": run + 1, "seconds": round3(d.Seconds()), "MBps": mbps(size, d)})
		}
	}
	return nil
}

// hashPattern feeds size bytes of the pattern, 1 MiB at a time, to every hash
// in turn and returns how long that took.
func hashPattern(size int64, hs []hash.Hash) (time.Duration, error) {
	src := newPattern(size)
	buf := make([]byte, patternChunk)
	start := time.Now()
	for {
		k, err := io.ReadFull(src, buf)
		for _, h := range hs {
			h.Write(buf[:k])
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read pattern: %w", err)
		}
	}
	d := time.Since(start)
	for _, h := range hs {
		h.Sum(nil)
	}
	return d, nil
}

// pairHash writes every chunk to two hashes at once, one on another goroutine.
type pairHash struct{ a, b hash.Hash }

// Write implements io.Writer; it returns when both hashes have the chunk.
func (p *pairHash) Write(b []byte) (int, error) {
	var wg sync.WaitGroup
	wg.Go(func() { p.a.Write(b) })
	p.b.Write(b)
	wg.Wait()
	return len(b), nil
}

// Sum returns the two sums one after the other.
func (p *pairHash) Sum(b []byte) []byte { return p.b.Sum(p.a.Sum(b)) }

// Reset resets both hashes.
func (p *pairHash) Reset() { p.a.Reset(); p.b.Reset() }

// Size is the length of Sum's result.
func (p *pairHash) Size() int { return p.a.Size() + p.b.Size() }

// BlockSize is the larger block size.
func (p *pairHash) BlockSize() int { return max(p.a.BlockSize(), p.b.BlockSize()) }
