package boundedio

import (
	"bufio"
	"context"
	"errors"
	"io"
)

// ReadLines calls fn with every line of r, without its newline, and its
// number (from 1). A line longer than max bytes is not passed on: tooLong
// gets its number and size, and reading goes on with the next line. Memory
// stays within max (plus a 64 KiB buffer) whatever the input. A last line
// without a newline (a writer that stopped mid-line) is passed on as it is.
func ReadLines(ctx context.Context, r io.Reader, max int, fn func(n int, line []byte), tooLong func(n int, size int64)) error {
	br := bufio.NewReaderSize(r, min(max+1, 64<<10))
	var long []byte // a line longer than br's buffer, up to max+1 bytes
	for n := 1; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		line, err := br.ReadSlice('\n')
		size := int64(len(line))
		newline := size > 0 && line[size-1] == '\n'
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				size += int64(len(line))
				newline = len(line) > 0 && line[len(line)-1] == '\n'
				if len(long)+len(line) <= max+1 {
					long = append(long, line...)
				}
			}
			line = long
		}
		if size > 0 && (err == nil || errors.Is(err, io.EOF)) {
			if newline {
				size--
			}
			if int64(len(line)) > size {
				line = line[:size]
			}
			if size > int64(max) {
				tooLong(n, size)
			} else {
				fn(n, line)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
