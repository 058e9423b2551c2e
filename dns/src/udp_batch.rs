//! Receiving and sending UDP in batches (`recvmmsg`/`sendmmsg`, as gdnsd
//! does): one system call for up to [`BATCH`] queries waiting on the socket
//! and one for their responses, each sent back to the address it came from.

use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams per system call.
pub const BATCH: usize = 32;

/// Buffers for one thread: `BATCH` datagrams of `size` bytes and their peers.
pub struct Batch {
    bufs: Vec<Vec<u8>>,
    lens: [usize; BATCH],
    peers: [libc::sockaddr_storage; BATCH],
    peer_lens: [libc::socklen_t; BATCH],
    count: usize,
}

impl Batch {
    /// Room for `BATCH` datagrams of up to `size` bytes.
    pub fn new(size: usize) -> Batch {
        Batch {
            bufs: (0..BATCH).map(|_| vec![0u8; size]).collect(),
            lens: [0; BATCH],
            // SAFETY: sockaddr_storage is plain data; all zeroes is valid.
            peers: unsafe { zeroed() },
            peer_lens: [0; BATCH],
            count: 0,
        }
    }

    /// Block until at least one datagram arrives; take every one waiting (up
    /// to `BATCH`). Returns how many.
    pub fn receive(&mut self, sock: &UdpSocket) -> usize {
        let mut iovs: Vec<libc::iovec> = self
            .bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: mmsghdr is plain data; all zeroes is valid.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, h) in hdrs.iter_mut().enumerate() {
            h.msg_hdr.msg_name = (&mut self.peers[i] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut iovs[i];
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every pointer in `hdrs` points into buffers that outlive the call.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        self.count = usize::try_from(n).unwrap_or(0).min(BATCH);
        for (i, h) in hdrs.iter().take(self.count).enumerate() {
            self.lens[i] = (h.msg_len as usize).min(self.bufs[i].len());
            self.peer_lens[i] = h.msg_hdr.msg_namelen;
        }
        self.count
    }

    /// Datagram `i` of the last receive and where it came from.
    pub fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        if i >= self.count {
            return None;
        }
        Some((&self.bufs[i][..self.lens[i]], peer(&self.peers[i])?))
    }

    /// Send each `(i, bytes)` back to datagram `i`'s peer, in one call when
    /// the kernel takes them all (the rest one by one).
    pub fn reply(&mut self, sock: &UdpSocket, out: &mut [(usize, Vec<u8>)]) {
        let mut iovs: Vec<libc::iovec> = out
            .iter_mut()
            .map(|(_, b)| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: plain data, zero is valid.
        let mut hdrs: Vec<libc::mmsghdr> = out.iter().map(|_| unsafe { zeroed() }).collect();
        for (k, (i, _)) in out.iter().enumerate() {
            hdrs[k].msg_hdr.msg_name = (&mut self.peers[*i] as *mut libc::sockaddr_storage).cast();
            hdrs[k].msg_hdr.msg_namelen = self.peer_lens[*i];
            hdrs[k].msg_hdr.msg_iov = &mut iovs[k];
            hdrs[k].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: pointers into `iovs`, `out` and `self.peers`, all alive.
        let sent = unsafe {
            libc::sendmmsg(
                sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                hdrs.len() as libc::c_uint,
                0,
            )
        };
        let sent = usize::try_from(sent).unwrap_or(0);
        for (i, bytes) in out.iter().skip(sent) {
            if let Some((_, to)) = self.get(*i) {
                let _ = sock.send_to(bytes, to);
            }
        }
    }
}

/// A socket address the kernel filled in.
fn peer(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be(a.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::new(IpAddr::V6(ip), u16::from_be(a.sin6_port)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receives_several_and_replies_to_each_sender() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let clients: Vec<UdpSocket> = ["127.0.0.1:0", "127.0.0.2:0", "127.0.0.3:0"]
            .iter()
            .map(|a| UdpSocket::bind(a).unwrap())
            .collect();
        for (k, c) in clients.iter().enumerate() {
            c.send_to(&[k as u8; 5], server.local_addr().unwrap())
                .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut b = Batch::new(512);
        assert_eq!(b.receive(&server), 3);
        let mut out = Vec::new();
        for i in 0..3 {
            let (data, from) = b.get(i).unwrap();
            let k = clients
                .iter()
                .position(|c| c.local_addr().unwrap() == from)
                .unwrap();
            assert_eq!(data, [k as u8; 5]);
            out.push((i, vec![data[0] + 100]));
        }
        b.reply(&server, &mut out);
        for (k, c) in clients.iter().enumerate() {
            let mut buf = [0u8; 8];
            c.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .unwrap();
            let n = c.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], [k as u8 + 100]);
        }
    }
}
