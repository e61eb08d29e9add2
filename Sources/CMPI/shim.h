// Open MPI's C API for Swift. mpi.h defines its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …)
// as macros that cast addresses of library globals, which Swift cannot import; these inline
// functions return them instead. Debian/Ubuntu: libopenmpi-dev (pkg-config "ompi").
#ifndef TAILOR_CMPI_SHIM_H
#define TAILOR_CMPI_SHIM_H

#include <mpi.h>

static inline MPI_Comm tailor_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm tailor_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype tailor_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype tailor_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op tailor_mpi_sum(void) { return MPI_SUM; }
static inline void *tailor_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request tailor_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *tailor_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Errhandler tailor_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }

#endif
