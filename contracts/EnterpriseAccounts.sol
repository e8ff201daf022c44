// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IAllianceDirectory} from "./interfaces/IAllianceDirectory.sol";
import {IAlliancePause} from "./interfaces/IAlliancePause.sol";
import {IEnterpriseAccounts} from "./interfaces/IEnterpriseAccounts.sol";

/// @title EnterpriseAccounts
/// @notice Enterprise accounts and their bound employees (see {IEnterpriseAccounts}).
/// @dev Holds no points: an enterprise's points and tier are the ledger's, read through the directory. Paused by
/// the ledger's pause ({IAlliancePause}), the alliance's one switch. Every signature carries a nonce of its
/// signer ({Nonces}, one sequence per address for all four message types) and a deadline; an enterprise's
/// direct {bind} and {unbind} use its nonce as well, so each of its acts on a binding voids the signatures it
/// gave before.
contract EnterpriseAccounts is Pausable, EIP712, Nonces, IEnterpriseAccounts {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @inheritdoc IEnterpriseAccounts
    uint256 public constant MAX_EMPLOYEES = 10_000;

    bytes32 private constant JOIN_TYPEHASH =
        keccak256("JoinEnterprise(address enterprise,address employee,uint256 nonce,uint256 deadline)");
    bytes32 private constant BIND_TYPEHASH =
        keccak256("BindEmployee(address enterprise,address employee,uint256 nonce,uint256 deadline)");
    bytes32 private constant UNBIND_TYPEHASH =
        keccak256("UnbindEmployee(address enterprise,address employee,uint256 nonce,uint256 deadline)");
    bytes32 private constant LEAVE_TYPEHASH =
        keccak256("LeaveEnterprise(address employee,uint256 nonce,uint256 deadline)");

    IAllianceDirectory private immutable _directory;

    mapping(address employee => address enterprise) private _enterpriseOf;
    mapping(address enterprise => EnumerableSet.AddressSet) private _employees;

    /// @param directory_ The alliance ledger: members' tiers, and the one pause.
    constructor(IAllianceDirectory directory_) EIP712("EnterpriseAccounts", "1") {
        _directory = directory_;
    }

    /// @inheritdoc IEnterpriseAccounts
    function bind(address employee, uint256 nonce, uint256 deadline, bytes calldata employeeSignature)
        external
        whenNotPaused
    {
        address enterprise = _msgSender();
        _checkSigned(employee, JOIN_TYPEHASH, enterprise, employee, nonce, deadline, employeeSignature);
        // The enterprise's own act uses its nonce too, as its signed bind does: an unbind it signed before no
        // longer verifies (a hostile review of 2026-12-06, finding 4).
        // slither-disable-next-line unused-return the used nonce is not needed, only its advance
        _useNonce(enterprise);
        _bind(enterprise, employee);
    }

    /// @inheritdoc IEnterpriseAccounts
    function bindWithSig(
        address enterprise,
        address employee,
        uint256 deadline,
        uint256 enterpriseNonce,
        bytes calldata enterpriseSignature,
        uint256 employeeNonce,
        bytes calldata employeeSignature
    ) external whenNotPaused {
        _checkSigned(enterprise, BIND_TYPEHASH, enterprise, employee, enterpriseNonce, deadline, enterpriseSignature);
        _checkSigned(employee, JOIN_TYPEHASH, enterprise, employee, employeeNonce, deadline, employeeSignature);
        _bind(enterprise, employee);
    }

    /// @inheritdoc IEnterpriseAccounts
    function unbind(address employee) external whenNotPaused {
        // Uses the enterprise's nonce, as its signed unbind does: a stale UnbindEmployee signature cannot undo a
        // later binding (a hostile review of 2026-12-06, finding 4).
        // slither-disable-next-line unused-return the used nonce is not needed, only its advance
        _useNonce(_msgSender());
        _unbind(_msgSender(), employee);
        emit EmployeeUnbound(_msgSender(), employee);
    }

    /// @inheritdoc IEnterpriseAccounts
    function unbindWithSig(
        address enterprise,
        address employee,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external whenNotPaused {
        _checkSigned(enterprise, UNBIND_TYPEHASH, enterprise, employee, nonce, deadline, signature);
        _unbind(enterprise, employee);
        emit EmployeeUnbound(enterprise, employee);
    }

    /// @inheritdoc IEnterpriseAccounts
    function leave() external whenNotPaused {
        _leave(_msgSender());
    }

    /// @inheritdoc IEnterpriseAccounts
    function leaveWithSig(address employee, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        whenNotPaused
    {
        _checkDeadline(deadline);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(LEAVE_TYPEHASH, employee, nonce, deadline)));
        _checkSignature(employee, digest, signature);
        _useCheckedNonce(employee, nonce);
        _leave(employee);
    }

    // ----------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------

    /// @notice Whether the alliance is paused: the ledger's pause, the one switch of the system.
    /// @dev Overrides OpenZeppelin's flag, which this contract never sets.
    function paused() public view override returns (bool) {
        return IAlliancePause(address(_directory)).paused();
    }

    /// @inheritdoc IEnterpriseAccounts
    function enterpriseOf(address employee) external view returns (address) {
        return _enterpriseOf[employee];
    }

    /// @inheritdoc IEnterpriseAccounts
    function employeeCount(address enterprise) external view returns (uint256) {
        return _employees[enterprise].length();
    }

    /// @inheritdoc IEnterpriseAccounts
    function employeesOf(address enterprise, uint256 offset, uint256 limit) external view returns (address[] memory page) {
        EnumerableSet.AddressSet storage set = _employees[enterprise];
        uint256 count = set.length();
        uint256 end = offset >= count ? offset : (limit > count - offset ? count : offset + limit);
        page = new address[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = set.at(i);
        }
    }

    /// @inheritdoc IEnterpriseAccounts
    function enterpriseStatus(address enterprise) external view returns (uint256 employees, uint8 tier) {
        return (_employees[enterprise].length(), _directory.tierOf(enterprise));
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    function _bind(address enterprise, address employee) private {
        if (employee == address(0) || employee == enterprise || _employees[employee].length() != 0) {
            revert EnterpriseInvalidAccount(employee);
        }
        if (enterprise == address(0) || _enterpriseOf[enterprise] != address(0)) {
            revert EnterpriseInvalidAccount(enterprise);
        }
        address current = _enterpriseOf[employee];
        if (current != address(0)) revert EnterpriseAlreadyBound(employee, current);
        EnumerableSet.AddressSet storage set = _employees[enterprise];
        if (set.length() >= MAX_EMPLOYEES) revert EnterpriseTooManyEmployees(enterprise, MAX_EMPLOYEES);
        _enterpriseOf[employee] = enterprise;
        // slither-disable-next-line unused-return the employee had no enterprise, so it is not in the set
        set.add(employee);
        emit EmployeeBound(enterprise, employee);
    }

    function _unbind(address enterprise, address employee) private {
        if (_enterpriseOf[employee] != enterprise || enterprise == address(0)) {
            revert EnterpriseNotBound(employee, enterprise);
        }
        delete _enterpriseOf[employee];
        // slither-disable-next-line unused-return bound to this enterprise, so it is in the set
        _employees[enterprise].remove(employee);
    }

    function _leave(address employee) private {
        address enterprise = _enterpriseOf[employee];
        _unbind(enterprise, employee);
        emit EmployeeLeft(enterprise, employee);
    }

    /// @dev Checks `signer`'s signature of `typehash(enterprise, employee, nonce, deadline)` and uses the nonce.
    function _checkSigned(
        address signer,
        bytes32 typehash,
        address enterprise,
        address employee,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) private {
        _checkDeadline(deadline);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(typehash, enterprise, employee, nonce, deadline)));
        _checkSignature(signer, digest, signature);
        _useCheckedNonce(signer, nonce);
    }

    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert EnterpriseSignatureExpired(deadline, block.timestamp);
    }

    function _checkSignature(address signer, bytes32 digest, bytes calldata signature) private view {
        if (!SignatureChecker.isValidSignatureNowCalldata(signer, digest, signature)) {
            revert EnterpriseInvalidSignature(signer);
        }
    }
}
