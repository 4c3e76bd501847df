'use strict';
// tslab publishes every stdout/stderr write and status of the kernel on the IOPub socket with zeromq.js's
// `send()` and ignores the promise. zeromq.js 6 sends at most 512 messages synchronously; the 513th is deferred to the
// next turn of the event loop, and until that turn every further `send()` THROWS "Socket is busy writing". The
// counter is reset only by a deferred send, so a cell whose synchronous code writes twice (e.g. a progress bar in a
// long loop) once the count reaches 512 fails inside `process.stdout.write`: the cell's error message and the
// kernel's "idle" status are lost too (nbconvert: "Timeout waiting for IOPub output", "the cell failed" with no
// message). With a send timeout of 0, zeromq.js always sends at once; a PUB socket never blocks (at its high-water
// mark it drops, as Jupyter's own kernels' IOPub does).
const path = require('path');

/** Makes the kernel's IOPub socket send synchronously (call before tslab's startKernel). */
function sendIopubAtOnce(root) {
  const { ZmqServer } = require(path.join(root, 'node_modules', 'tslab', 'dist', 'jupyter.js'));
  if (ZmqServer.prototype.bindSocket.tesseraIopubAtOnce) return;
  const bind = ZmqServer.prototype.bindSocket;
  const patched = function (sock, port) {
    if (sock === this.iopub) sock.sendTimeout = 0;
    return bind.call(this, sock, port);
  };
  patched.tesseraIopubAtOnce = true;
  ZmqServer.prototype.bindSocket = patched;
}

module.exports = { sendIopubAtOnce };
