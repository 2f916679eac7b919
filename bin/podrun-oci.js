#!/usr/bin/env node
'use strict';
// runc's exact command line: `podrun-oci [global options] <command> …` is
// `podrun oci [global options] <command> …`, for tools that take a runtime path.
process.argv.splice(2, 0, 'oci');
process.env.PODRUN_OCI_COMPAT = '1';
require('./podrun.js');
