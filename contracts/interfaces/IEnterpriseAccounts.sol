// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Enterprise accounts: errors, events and functions.
/// @notice An enterprise account (a member address of the ledger, with its own points and tier) binds employee
/// accounts, each with the employee's own consent (EIP-712 signature), and may unbind them; an employee may
/// leave alone at any time. Binding changes nothing on the ledger: employees keep their own points and personal
/// tier. An employee is bound to at most one enterprise, and an enterprise cannot itself be an employee.
interface IEnterpriseAccounts {
    /// @notice `employee` is already bound to `enterprise`.
    error EnterpriseAlreadyBound(address employee, address enterprise);
    /// @notice `employee` is not bound to `enterprise`.
    error EnterpriseNotBound(address employee, address enterprise);
    /// @notice `account` cannot take this role: an enterprise cannot be an employee, an employee cannot bind
    /// others, and an account cannot bind itself or the zero address.
    error EnterpriseInvalidAccount(address account);
    /// @notice `enterprise` has reached `maxEmployees`.
    error EnterpriseTooManyEmployees(address enterprise, uint256 maxEmployees);
    /// @notice The signature's deadline has passed.
    error EnterpriseSignatureExpired(uint256 deadline, uint256 nowTimestamp);
    /// @notice The signature is not `signer`'s.
    error EnterpriseInvalidSignature(address signer);

    /// @notice `enterprise` bound `employee`, with the employee's consent.
    event EmployeeBound(address indexed enterprise, address indexed employee);
    /// @notice `enterprise` unbound `employee`.
    event EmployeeUnbound(address indexed enterprise, address indexed employee);
    /// @notice `employee` left `enterprise` on its own.
    event EmployeeLeft(address indexed enterprise, address indexed employee);

    /// @notice The caller (the enterprise) binds `employee`, who consented by signing
    /// `JoinEnterprise(address enterprise,address employee,uint256 nonce,uint256 deadline)` (domain
    /// `EnterpriseAccounts`/`1`; ERC-1271 for contract wallets).
    /// @dev Requirements: not paused; a valid, unexpired consent with the employee's next nonce; `employee` is
    /// not bound, has no employees and is not the caller; the caller is not an employee; the caller has fewer
    /// than {MAX_EMPLOYEES} employees. Uses the caller's next nonce as well (OpenZeppelin {Nonces}), as
    /// {bindWithSig} does: a signature the enterprise gave before (an `UnbindEmployee` not relayed) no longer
    /// verifies (a hostile review of 2026-12-06). Emits an {EmployeeBound} event.
    function bind(address employee, uint256 nonce, uint256 deadline, bytes calldata employeeSignature) external;

    /// @notice As {bind}, for an enterprise that signed
    /// `BindEmployee(address enterprise,address employee,uint256 nonce,uint256 deadline)` (its own nonce); anyone
    /// may relay both signatures.
    function bindWithSig(
        address enterprise,
        address employee,
        uint256 deadline,
        uint256 enterpriseNonce,
        bytes calldata enterpriseSignature,
        uint256 employeeNonce,
        bytes calldata employeeSignature
    ) external;

    /// @notice The caller (the enterprise) unbinds `employee`.
    /// @dev Requirements: not paused; `employee` is bound to the caller. Uses the caller's next nonce (OpenZeppelin
    /// {Nonces}), as {unbindWithSig} does, so an `UnbindEmployee` the enterprise signed before cannot undo a later
    /// binding (a hostile review of 2026-12-06: the direct unbind and bind left the nonce, and a stale signature
    /// unbound the employee's new binding). Emits an {EmployeeUnbound} event.
    function unbind(address employee) external;

    /// @notice As {unbind}, signed by the enterprise:
    /// `UnbindEmployee(address enterprise,address employee,uint256 nonce,uint256 deadline)`.
    function unbindWithSig(
        address enterprise,
        address employee,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice The caller (an employee) leaves its enterprise.
    /// @dev Requirements: not paused; the caller is bound. Emits an {EmployeeLeft} event.
    function leave() external;

    /// @notice As {leave}, signed by the employee: `LeaveEnterprise(address employee,uint256 nonce,uint256 deadline)`.
    function leaveWithSig(address employee, uint256 nonce, uint256 deadline, bytes calldata signature) external;

    /// @notice The most employees one enterprise may bind.
    function MAX_EMPLOYEES() external view returns (uint256);

    /// @notice The enterprise `employee` is bound to (zero: none).
    function enterpriseOf(address employee) external view returns (address);

    /// @notice How many employees `enterprise` has bound.
    function employeeCount(address enterprise) external view returns (uint256);

    /// @notice Up to `limit` employees of `enterprise` from position `offset` (order changes on unbinding).
    function employeesOf(address enterprise, uint256 offset, uint256 limit) external view returns (address[] memory);

    /// @notice The enterprise's own standing: its employee count and its tier on the ledger (its points are the
    /// ledger's `balanceOf(enterprise, brand)`).
    function enterpriseStatus(address enterprise) external view returns (uint256 employees, uint8 tier);
}
