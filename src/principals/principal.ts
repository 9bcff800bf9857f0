import type { Role } from './roles.js'

/** A caller of QTC (a person or a system) with its roles; what every use case is given as its actor. */
export interface Principal {
  id: string
  name: string
  roles: Role[]
  status: 'active' | 'revoked'
  managerId: string | null
  version: number
  createdAt: Date
  updatedAt: Date
}
